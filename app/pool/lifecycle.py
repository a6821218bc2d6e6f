"""Pools' lifecycle: creation and every transition (draft → open → locked → resolved, or
cancelled), each once, by the channel's staff or automation, published after commit."""

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.tokens import Principal
from app.channel.errors import NotChannelStaff
from app.channel.permissions import channel_or_404, require_staff
from app.kit.currency import cash, points
from app.kit.effects import call_after_commit, emit_after_commit, enqueue_after_commit
from app.kit.errors import InvalidInput
from app.kit.resources import Resources
from app.ledger.service import ledger_service
from app.models.ledger import AccountKind
from app.models.pool import Pool, PoolOutcome, PoolStatus
from app.models.user import Role
from app.notification.service import notification_service
from app.pool import schemas
from app.pool.errors import (
    CashNotEnabled,
    ConflictOfInterest,
    InvalidTransition,
    PoolNotFound,
    RakeTooHigh,
    UnknownOutcome,
)
from app.pool.live import pool_totals
from app.pool.repository import pool_repository
from app.pool.settlement import refund_job_id, settle_job_id
from app.pool.views import pool_views, published, room, staff_or_admin

MAX_CLOSE_AHEAD = timedelta(hours=24)
MIN_CLOSE_AHEAD = timedelta(seconds=10)


#: The moves told in the linked platforms' chats as they happen (a result is told once paid).
CHAT_ANNOUNCED = ("pool:opened", "pool:locked")


def outcome_at_stake(action: str, status: PoolStatus) -> bool:
    """Whether ``action`` on a pool in ``status`` decides who gets its money, so that nobody
    holding a position may take it. Resolving always does. Cancelling a locked pool does: the
    event may be as good as decided, and a refund hands a losing stake back. Cancelling a
    draft or an open pool does not: betting is still going on, every stake comes back
    exactly, and staff must be able to call off a mistaken pool at once."""
    return action == "resolve" or (action == "cancel" and status is PoolStatus.locked)


class PoolLifecycleService:
    async def create(
        self,
        session: AsyncSession,
        resources: Resources,
        actor: Principal | None,
        data: schemas.PoolCreate,
    ) -> schemas.Pool:
        """Create a pool as a draft or open at once. Everything is checked before anything is
        written, so a refused pool leaves nothing behind."""
        settings = resources.settings
        channel = await channel_or_404(session, data.channel_id)
        if actor is not None:
            await require_staff(session, channel, actor)
        labels = [label.strip() for label in data.outcomes]
        if len({label.casefold() for label in labels}) != len(labels):
            raise InvalidInput("outcomes", "labels must be distinct")
        if data.max_stake < data.min_stake:
            raise InvalidInput("max_stake", "must be at least min_stake")
        if (data.window_seconds is None) == (data.closes_at is None):
            raise InvalidInput("window_seconds", "give either window_seconds or closes_at")
        now = datetime.now(UTC)
        if data.closes_at is not None:
            closes_at = data.closes_at
            if closes_at.tzinfo is None:
                raise InvalidInput("closes_at", "needs a time zone (e.g. 2026-01-01T20:00:00Z)")
            if not now + MIN_CLOSE_AHEAD <= closes_at <= now + MAX_CLOSE_AHEAD:
                raise InvalidInput("closes_at", "must be between 10 seconds and 24 hours ahead")
        if data.currency == "cash":
            if not channel.cash_enabled:
                raise CashNotEnabled()
            currency = cash(settings.cash_currency)
            rake = settings.cash_rake_bps_default if data.rake_bps is None else data.rake_bps
            if rake > settings.cash_rake_bps_cap:
                raise RakeTooHigh(settings.cash_rake_bps_cap)
        else:
            currency = points(channel.id)
            if data.rake_bps:
                raise RakeTooHigh(0)
            rake = 0
        pool = await self._insert(
            session,
            channel_id=channel.id,
            title=data.title.strip(),
            labels=labels,
            currency=currency,
            min_stake=data.min_stake,
            max_stake=data.max_stake,
            rake_bps=rake,
            window_seconds=data.window_seconds,
            closes_at=data.closes_at,
            created_by=actor.user_id if actor else None,
        )
        await pool_repository.record_transition(
            session, pool.id, PoolStatus.draft, PoolStatus.draft, pool.created_by
        )
        if data.open:
            return await self.open(session, resources, actor, pool.id)
        return await pool_views.view(session, resources.redis, pool.id, None)

    async def _insert(
        self,
        session: AsyncSession,
        *,
        channel_id: int,
        title: str,
        labels: list[str],
        currency: str,
        min_stake: int,
        max_stake: int,
        rake_bps: int,
        window_seconds: int | None,
        closes_at: datetime | None,
        created_by: int | None,
    ) -> Pool:
        pool = Pool(
            channel_id=channel_id,
            title=title,
            currency=currency,
            status=PoolStatus.draft,
            min_stake=min_stake,
            max_stake=max_stake,
            rake_bps=rake_bps,
            window_seconds=window_seconds,
            closes_at=closes_at,
            escrow_account_id=0,
            created_by=created_by,
        )
        await pool_repository.add(session, pool)
        pool.escrow_account_id = await ledger_service.system_account(
            session, AccountKind.pool_escrow, currency, ref_id=pool.id
        )
        for position, label in enumerate(labels, start=1):
            await pool_repository.add(
                session, PoolOutcome(pool_id=pool.id, position=position, label=label)
            )
        await session.flush()
        return pool

    async def open(
        self, session: AsyncSession, resources: Resources, actor: Principal | None, pool_id: int
    ) -> schemas.Pool:
        pool = await self._pool_for(session, actor, pool_id)
        await self._transition(session, pool, actor, "open", (PoolStatus.draft,), PoolStatus.open)
        await pool_totals.store(resources.redis, pool.id, [], final=False)
        notification_service.pool_opened_later(session, pool.id)
        return await self._announce(session, resources, pool, "pool:opened")

    async def lock(
        self, session: AsyncSession, resources: Resources, actor: Principal | None, pool_id: int
    ) -> schemas.Pool:
        """Stop betting. A bet racing the lock either committed before it or is refused."""
        pool = await self._pool_for(session, actor, pool_id)
        await self._transition(session, pool, actor, "lock", (PoolStatus.open,), PoolStatus.locked)
        totals = await pool_repository.totals(session, pool.id)
        call_after_commit(
            session, lambda: pool_totals.store(resources.redis, pool.id, totals, final=True)
        )
        return await self._announce(session, resources, pool, "pool:locked")

    async def resolve(
        self,
        session: AsyncSession,
        resources: Resources,
        actor: Principal | None,
        pool_id: int,
        outcome_id: int,
    ) -> schemas.Pool:
        """Name the winning outcome; settlement follows in a job."""
        pool = await self._pool_for(session, actor, pool_id)
        if not any(o.id == outcome_id for o in await pool_repository.outcomes(session, pool.id)):
            raise UnknownOutcome()
        await self._transition(
            session, pool, actor, "resolve", (PoolStatus.locked,), PoolStatus.resolved, outcome_id
        )
        enqueue_after_commit(session, "pool.settle", pool.id, job_id=settle_job_id(pool.id))
        return await self._announce(session, resources, pool, "pool:resolved")

    async def cancel(
        self, session: AsyncSession, resources: Resources, actor: Principal | None, pool_id: int
    ) -> schemas.Pool:
        """Call the pool off; every stake is refunded exactly, in a job."""
        pool = await self._pool_for(session, actor, pool_id)
        await self._transition(
            session,
            pool,
            actor,
            "cancel",
            (PoolStatus.draft, PoolStatus.open, PoolStatus.locked),
            PoolStatus.cancelled,
        )
        enqueue_after_commit(session, "pool.refund", pool.id, job_id=refund_job_id(pool.id))
        return await self._announce(session, resources, pool, "pool:cancelled")

    async def _pool_for(self, session: AsyncSession, actor: Principal | None, pool_id: int) -> Pool:
        pool = await pool_repository.get(session, pool_id)
        if pool is None:
            raise PoolNotFound()
        if actor is not None:
            channel = await channel_or_404(session, pool.channel_id)
            if not await staff_or_admin(session, channel, actor):
                # Refusing a draft would tell outsiders it exists.
                raise NotChannelStaff() if published(pool) else PoolNotFound()
        return pool

    async def _transition(
        self,
        session: AsyncSession,
        pool: Pool,
        actor: Principal | None,
        action: str,
        allowed: tuple[PoolStatus, ...],
        to: PoolStatus,
        winning_outcome_id: int | None = None,
    ) -> None:
        await self._refuse_conflict_of_interest(session, pool.id, actor, action)
        moved = await pool_repository.transition(session, pool.id, allowed, to, winning_outcome_id)
        if moved is None:
            current = await pool_repository.get_for_update(session, pool.id)
            raise InvalidTransition(action, current.status.value if current else "gone")
        details = {"outcome_id": winning_outcome_id} if winning_outcome_id else {}
        await pool_repository.record_transition(
            session, pool.id, moved[0], to, actor.user_id if actor else None, details
        )
        await session.refresh(pool)

    async def refuse_conflict_of_interest(
        self, session: AsyncSession, pool_id: int, user_id: int, action: str
    ) -> None:
        """The conflict-of-interest rule below for someone who moves a pool through
        automation (a platform moderator running it from chat, not staff here): checked in
        the caller's unit of work before it calls ``lock``/``resolve``/``cancel`` with no
        actor, which then holds the pool row this check locked."""
        await self._refuse_conflict_of_interest(
            session, pool_id, Principal(user_id=user_id, role=Role.user), action
        )

    async def _refuse_conflict_of_interest(
        self, session: AsyncSession, pool_id: int, actor: Principal | None, action: str
    ) -> None:
        """The one conflict-of-interest rule, for every path that moves a pool (REST,
        Socket.IO, chat commands): nobody holding a position may decide where the pool's money
        goes. That is resolving it, and cancelling it once locked (a stake on the losing side
        would come back). Owners, moderators and platform admins alike; automation acting for
        the channel holds no position.

        Race-safe: the pool row is locked before the positions are read. A bet holds that row
        FOR SHARE until it commits, and only while the pool is open (``place_bet``, migration
        0006). So once we hold the row and see the pool locked, every bet it will ever have has
        committed, and the positions query, a new statement with a new snapshot under READ
        COMMITTED, sees them all; the row stays ours until the transition below commits.
        Putting the check inside the transition's UPDATE would not do: that statement's
        snapshot predates its wait for the row lock, so it could miss a bet that committed
        during the wait, just before the lock."""
        if actor is None or action not in ("resolve", "cancel"):
            return
        current = await pool_repository.get_for_update(session, pool_id)
        if current is None or not outcome_at_stake(action, current.status):
            return
        if await pool_repository.holds_position(session, pool_id, actor.user_id):
            raise ConflictOfInterest(action)

    async def _announce(
        self, session: AsyncSession, resources: Resources, pool: Pool, event: str
    ) -> schemas.Pool:
        view = await pool_views.view(session, resources.redis, pool.id, None)
        if published(pool):  # the channel's room is public: a draft called off stays unseen
            emit_after_commit(session, event, view, room(pool))
        if event in CHAT_ANNOUNCED:
            # Every chat of the channel's linked platforms hears it, whoever moved the pool
            # (app.command, which this package must not import: it builds on the pool services).
            enqueue_after_commit(
                session,
                "command.announce_pool",
                pool.id,
                event,
                job_id=f"command.announce_pool:{pool.id}:{event}",
            )
        return view

    # -- timers -------------------------------------------------------------------------------

    async def lock_due(self, session: AsyncSession, resources: Resources) -> int:
        """Lock every open pool whose close time has come (cron, every second)."""
        locked = 0
        for pool_id in await pool_repository.due_to_lock(session):
            try:
                async with session.begin_nested():
                    await self.lock(session, resources, None, pool_id)
                locked += 1
            except InvalidTransition:
                continue  # locked by hand meanwhile
        return locked

    async def cancel_stale(self, session: AsyncSession, resources: Resources, hours: int) -> int:
        """Cancel (and so refund) pools left locked and unresolved for ``hours``."""
        cancelled = 0
        for pool_id in await pool_repository.stale_locked(session, hours):
            try:
                async with session.begin_nested():
                    await self.cancel(session, resources, None, pool_id)
                cancelled += 1
            except InvalidTransition:
                continue
        return cancelled


pool_lifecycle = PoolLifecycleService()
