"""Player protection: cash play needs a confirmed adult age, respects the user's deposit
limits (cuts at once, raises after a cooling-off) and self-exclusion. Every change is audited."""

from datetime import date, datetime, timedelta

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.errors import InvalidInput, NotFound
from app.models.protection import DepositLimit, LimitPeriod, SelfExclusion
from app.models.user import User
from app.protection import schemas
from app.protection.errors import (
    AgeNotConfirmed,
    BirthDateAlreadyConfirmed,
    DepositLimitExceeded,
    ExclusionCannotBeShortened,
    SelfExcluded,
    Underage,
    UnderageRefused,
)
from app.protection.repository import protection_repository
from app.settings import Settings

COOLING_OFF = timedelta(hours=24)
PERIODS = {
    LimitPeriod.day: timedelta(days=1),
    LimitPeriod.week: timedelta(days=7),
    LimitPeriod.month: timedelta(days=30),
}


def age_on(birth_date: date, today: date) -> int:
    before_birthday = (today.month, today.day) < (birth_date.month, birth_date.day)
    return today.year - birth_date.year - before_birthday


def effective_amount(limit: DepositLimit, now: datetime) -> int | None:
    """The cap in force now: a pending raise or removal counts once its cooling-off ended."""
    if limit.pending_effective_at is not None and limit.pending_effective_at <= now:
        return None if limit.pending_removal else limit.pending_amount
    return limit.amount


class ProtectionService:
    async def confirm_age(
        self, session: AsyncSession, settings: Settings, user_id: int, birth_date: date
    ) -> schemas.Limits:
        """Confirm an adult date of birth, once. An under-age date is refused and stores
        nothing that confirms age, so a mistyped date can be corrected; the refusal itself is
        audited, and a later adult date is audited as correcting it."""
        user = await self._locked_user(session, user_id)
        now = await protection_repository.now(session)
        if birth_date >= now.date() or birth_date.year < 1900:
            raise InvalidInput("birth_date", "is not a plausible date of birth")
        if self._confirmed_adult(user, settings, now):
            if user.birth_date == birth_date:
                return await self.limits(session, settings, user_id)
            raise BirthDateAlreadyConfirmed()
        if age_on(birth_date, now.date()) < settings.minimum_age:
            # Checked before anything about the user changes: the error commits the audit row
            # and nothing else.
            await protection_repository.audit(
                session, user_id, "age_refused", {"birth_date": birth_date.isoformat()}
            )
            raise UnderageRefused()
        refused = await protection_repository.refused_birth_dates(session, user_id)
        details: dict[str, object] = {"birth_date": birth_date.isoformat(), "adult": True}
        if refused:
            details["corrects"] = refused
        await protection_repository.audit(session, user_id, "age_confirmed", details)
        user.birth_date = birth_date
        await session.flush()
        return await self.limits(session, settings, user_id)

    async def ensure_can_play_cash(
        self, session: AsyncSession, settings: Settings, user_id: int
    ) -> None:
        """Raise unless the user may stake cash now (adult age confirmed, not self-excluded)."""
        user = await protection_repository.get_user(session, user_id)
        if user is None:
            raise NotFound()
        now = await protection_repository.now(session)
        self._check_age(user, settings, now)
        if await protection_repository.active_exclusion(session, user_id, now) is not None:
            raise SelfExcluded()

    async def reserve_deposit(
        self, session: AsyncSession, settings: Settings, user_id: int, amount: int
    ) -> None:
        """Check a new deposit against age, self-exclusion and every deposit limit. Locks the
        user until the unit of work ends, so concurrent deposits cannot overshoot a limit."""
        user = await self._locked_user(session, user_id)
        now = await protection_repository.now(session)
        self._check_age(user, settings, now)
        if await protection_repository.active_exclusion(session, user_id, now) is not None:
            raise SelfExcluded()
        for limit in await protection_repository.limits(session, user_id):
            cap = effective_amount(limit, now)
            if cap is None:
                continue
            used = await protection_repository.deposited_since(
                session, user_id, now - PERIODS[limit.period]
            )
            if used + amount > cap:
                raise DepositLimitExceeded(limit.period.value, cap, used)

    async def set_deposit_limit(
        self,
        session: AsyncSession,
        settings: Settings,
        user_id: int,
        change: schemas.DepositLimitChange,
    ) -> schemas.Limits:
        """Lower (or first set) a limit at once; raise or remove it after 24 hours."""
        await self._locked_user(session, user_id)
        now = await protection_repository.now(session)
        limit = await protection_repository.limit(session, user_id, change.period)
        if limit is None:
            limit = DepositLimit(user_id=user_id, period=change.period, amount=None)
            session.add(limit)
        current = effective_amount(limit, now)
        limit.amount = current  # a due pending change becomes the limit itself
        limit.pending_amount, limit.pending_removal, limit.pending_effective_at = None, False, None
        tightening = change.amount is not None and (current is None or change.amount <= current)
        if tightening:
            limit.amount = change.amount
            action = "deposit_limit_lowered" if current is not None else "deposit_limit_set"
        else:
            limit.pending_amount = change.amount
            limit.pending_removal = change.amount is None
            limit.pending_effective_at = now + COOLING_OFF
            action = "deposit_limit_raise_requested"
        await session.flush()
        await protection_repository.audit(
            session,
            user_id,
            action,
            {
                "period": change.period.value,
                "from": current,
                "to": change.amount,
                "effective_at": (limit.pending_effective_at or now).isoformat(),
            },
        )
        return await self.limits(session, settings, user_id)

    async def self_exclude(
        self,
        session: AsyncSession,
        settings: Settings,
        user_id: int,
        request: schemas.SelfExclusionRequest,
    ) -> schemas.Limits:
        """Exclude oneself from cash play for a period or for good; never shortened."""
        if request.permanent == (request.days is not None):
            raise InvalidInput("days", "give either a number of days or permanent: true")
        await self._locked_user(session, user_id)
        now = await protection_repository.now(session)
        ends_at = None if request.permanent else now + timedelta(days=request.days or 0)
        active = await protection_repository.active_exclusion(session, user_id, now)
        if active is not None and (
            active.ends_at is None or (ends_at is not None and ends_at < active.ends_at)
        ):
            raise ExclusionCannotBeShortened()
        session.add(SelfExclusion(user_id=user_id, starts_at=now, ends_at=ends_at))
        await protection_repository.audit(
            session,
            user_id,
            "self_excluded",
            {"until": ends_at.isoformat() if ends_at else "permanent"},
        )
        return await self.limits(session, settings, user_id)

    async def limits(
        self, session: AsyncSession, settings: Settings, user_id: int
    ) -> schemas.Limits:
        user = await protection_repository.get_user(session, user_id)
        if user is None:
            raise NotFound()
        now = await protection_repository.now(session)
        views = []
        for limit in await protection_repository.limits(session, user_id):
            due = limit.pending_effective_at is not None and limit.pending_effective_at <= now
            views.append(
                schemas.DepositLimitView(
                    period=limit.period,
                    amount=effective_amount(limit, now),
                    used=await protection_repository.deposited_since(
                        session, user_id, now - PERIODS[limit.period]
                    ),
                    pending_amount=None if due else limit.pending_amount,
                    pending_removal=False if due else limit.pending_removal,
                    pending_effective_at=None if due else limit.pending_effective_at,
                )
            )
        exclusion = await protection_repository.active_exclusion(session, user_id, now)
        confirmed = self._confirmed_adult(user, settings, now)
        return schemas.Limits(
            age_confirmed=confirmed,
            birth_date=user.birth_date if confirmed else None,
            deposit_limits=views,
            self_exclusion=(
                msgspec.convert(exclusion, schemas.SelfExclusionView, from_attributes=True)
                if exclusion
                else None
            ),
        )

    async def _locked_user(self, session: AsyncSession, user_id: int) -> User:
        user = await protection_repository.lock_user(session, user_id)
        if user is None:
            raise NotFound()
        return user

    def _confirmed_adult(self, user: User, settings: Settings, now: datetime) -> bool:
        """Whether the user's stated date of birth makes them an adult today. Only adult
        dates are stored; an under-age one left by older code confirms nothing."""
        return (
            user.birth_date is not None
            and age_on(user.birth_date, now.date()) >= settings.minimum_age
        )

    def _check_age(self, user: User, settings: Settings, now: datetime) -> None:
        if user.birth_date is None:
            raise AgeNotConfirmed()
        if not self._confirmed_adult(user, settings, now):
            raise Underage()


protection_service = ProtectionService()
