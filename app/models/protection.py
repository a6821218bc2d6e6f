"""Player protection for cash play: deposit limits, self-exclusion, and their audit trail."""

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, CreatedAtMixin, IdMixin


class LimitPeriod(enum.StrEnum):
    day = "day"
    week = "week"
    month = "month"


class DepositLimit(IdMixin, CreatedAtMixin, Base):
    """A user's cap on deposits per rolling period. A raise waits in ``pending_amount`` until
    ``pending_effective_at`` (24 hours later); a cut applies at once."""

    __tablename__ = "deposit_limits"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    period: Mapped[LimitPeriod] = mapped_column(
        Enum(LimitPeriod, name="limit_period", values_callable=lambda e: [m.value for m in e])
    )
    amount: Mapped[int | None] = mapped_column(BigInteger)  # None: no limit
    pending_amount: Mapped[int | None] = mapped_column(BigInteger, default=None)
    pending_removal: Mapped[bool] = mapped_column(default=False)
    pending_effective_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (
        UniqueConstraint("user_id", "period"),
        CheckConstraint("amount IS NULL OR amount > 0", name="amount_positive"),
    )


class SelfExclusion(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "self_exclusions"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime | None]  # None: permanent


class ProtectionAudit(IdMixin, CreatedAtMixin, Base):
    """Every change a user makes to their protection settings, append-only."""

    __tablename__ = "protection_audit"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSONB)
