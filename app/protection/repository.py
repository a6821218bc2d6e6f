"""SQL of player protection."""

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.protection import DepositLimit, LimitPeriod, ProtectionAudit, SelfExclusion
from app.models.user import User


class ProtectionRepository:
    async def lock_user(self, session: AsyncSession, user_id: int) -> User | None:
        """Serialises a user's money-protection decisions (deposits, limit changes)."""
        result = await session.execute(select(User).where(User.id == user_id).with_for_update())
        return result.scalar_one_or_none()

    async def get_user(self, session: AsyncSession, user_id: int) -> User | None:
        return await session.get(User, user_id)

    async def limits(self, session: AsyncSession, user_id: int) -> list[DepositLimit]:
        result = await session.execute(
            select(DepositLimit).where(DepositLimit.user_id == user_id).order_by(DepositLimit.id)
        )
        return list(result.scalars())

    async def limit(
        self, session: AsyncSession, user_id: int, period: LimitPeriod
    ) -> DepositLimit | None:
        result = await session.execute(
            select(DepositLimit).where(
                DepositLimit.user_id == user_id, DepositLimit.period == period
            )
        )
        return result.scalar_one_or_none()

    async def active_exclusion(
        self, session: AsyncSession, user_id: int, now: datetime
    ) -> SelfExclusion | None:
        result = await session.execute(
            select(SelfExclusion)
            .where(
                SelfExclusion.user_id == user_id,
                SelfExclusion.starts_at <= now,
                (SelfExclusion.ends_at.is_(None)) | (SelfExclusion.ends_at > now),
            )
            .order_by(SelfExclusion.ends_at.desc().nulls_first())
            .limit(1)
        )
        return result.scalar_one_or_none()

    async def deposited_since(self, session: AsyncSession, user_id: int, since: datetime) -> int:
        """Cash deposits started since ``since`` that did not fail, expire or get rejected
        (one held for review counts: it may yet be credited)."""
        result = await session.execute(
            text(
                "SELECT coalesce(sum(amount), 0) FROM deposits WHERE user_id = :user_id"
                " AND created_at >= :since AND status IN ('pending', 'succeeded', 'held')"
            ),
            {"user_id": user_id, "since": since},
        )
        return int(result.scalar_one())

    async def audit(
        self, session: AsyncSession, user_id: int, action: str, details: dict[str, Any]
    ) -> None:
        session.add(ProtectionAudit(user_id=user_id, action=action, details=details))
        await session.flush()

    async def refused_birth_dates(self, session: AsyncSession, user_id: int) -> list[str]:
        """The under-age dates of birth the user stated before, oldest first."""
        result = await session.execute(
            select(ProtectionAudit.details["birth_date"].astext)
            .where(ProtectionAudit.user_id == user_id, ProtectionAudit.action == "age_refused")
            .order_by(ProtectionAudit.id)
        )
        return [str(value) for value in result.scalars()]

    async def audit_trail(self, session: AsyncSession, user_id: int) -> list[ProtectionAudit]:
        result = await session.execute(
            select(ProtectionAudit)
            .where(ProtectionAudit.user_id == user_id)
            .order_by(ProtectionAudit.id)
        )
        return list(result.scalars())

    async def now(self, session: AsyncSession) -> datetime:
        result = await session.execute(select(func.now()))
        return result.scalar_one()


protection_repository = ProtectionRepository()
