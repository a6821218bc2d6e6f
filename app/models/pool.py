"""Pools, their outcomes, bets (one position per user), transitions and templates."""

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    LargeBinary,
    SmallInteger,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, CreatedAtMixin, IdMixin


class PoolStatus(enum.StrEnum):
    draft = "draft"
    open = "open"
    locked = "locked"
    resolved = "resolved"
    settled = "settled"
    cancelled = "cancelled"
    refunded = "refunded"


class Pool(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "pools"

    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    title: Mapped[str] = mapped_column(String(120))
    currency: Mapped[str] = mapped_column(String(64))
    status: Mapped[PoolStatus] = mapped_column(
        Enum(PoolStatus, name="pool_status", values_callable=lambda e: [m.value for m in e])
    )
    min_stake: Mapped[int] = mapped_column(BigInteger)
    max_stake: Mapped[int] = mapped_column(BigInteger)
    rake_bps: Mapped[int] = mapped_column(SmallInteger)
    window_seconds: Mapped[int | None] = mapped_column(default=None)
    closes_at: Mapped[datetime | None] = mapped_column(default=None)
    escrow_account_id: Mapped[int] = mapped_column(BigInteger)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    opened_at: Mapped[datetime | None] = mapped_column(default=None)
    locked_at: Mapped[datetime | None] = mapped_column(default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    winning_outcome_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    settled_at: Mapped[datetime | None] = mapped_column(default=None)
    cancelled_at: Mapped[datetime | None] = mapped_column(default=None)
    refunded_at: Mapped[datetime | None] = mapped_column(default=None)
    rake_amount: Mapped[int | None] = mapped_column(BigInteger, default=None)
    #: When each bettor's result reached their inbox (a job after the payout commits).
    results_notified_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (
        CheckConstraint("min_stake > 0 AND max_stake >= min_stake", name="stakes"),
        CheckConstraint("rake_bps BETWEEN 0 AND 10000", name="rake_bps"),
        Index("ix_pools_channel_id_status", "channel_id", "status"),
        # The pool owning an escrow, among paid pools: ledger entries may not touch it.
        Index(
            "ix_pools_paid_escrow",
            "escrow_account_id",
            postgresql_where=text("status IN ('settled', 'refunded')"),
        ),
        Index("ix_pools_due", "closes_at", postgresql_where=text("status = 'open'")),
        Index(
            "ix_pools_unpaid", "id", postgresql_where=text("status IN ('resolved', 'cancelled')")
        ),
        # Paid pools whose bettors were not told yet (a lost job): what the sweep looks for.
        Index(
            "ix_pools_results_untold",
            "id",
            postgresql_where=text(
                "status IN ('settled', 'refunded') AND results_notified_at IS NULL"
            ),
        ),
    )


class PoolOutcome(IdMixin, Base):
    __tablename__ = "pool_outcomes"

    pool_id: Mapped[int] = mapped_column(ForeignKey("pools.id"))
    position: Mapped[int] = mapped_column(SmallInteger)
    label: Mapped[str] = mapped_column(String(50))

    __table_args__ = (
        UniqueConstraint("pool_id", "position"),
        UniqueConstraint("pool_id", "label"),
    )


class Bet(IdMixin, CreatedAtMixin, Base):
    """A user's position in a pool: one outcome, the sum of their stakes on it."""

    __tablename__ = "bets"

    pool_id: Mapped[int] = mapped_column(ForeignKey("pools.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    outcome_id: Mapped[int] = mapped_column(ForeignKey("pool_outcomes.id"))
    wallet_account_id: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(BigInteger)
    payout: Mapped[int | None] = mapped_column(BigInteger, default=None)
    updated_at: Mapped[datetime] = mapped_column(server_default=text("now()"))

    __table_args__ = (
        UniqueConstraint("pool_id", "user_id"),
        CheckConstraint("amount > 0", name="amount_positive"),
        # Room in each page: more stake or a payout rewrites the row in place (a HOT update).
        {"postgresql_with": {"fillfactor": 85}},
    )


class BetPlacement(IdMixin, CreatedAtMixin, Base):
    """One call that added stake, remembered by its idempotency key with the answer given."""

    __tablename__ = "bet_placements"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    idempotency_key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[bytes] = mapped_column(LargeBinary(32))
    pool_id: Mapped[int] = mapped_column(BigInteger)
    bet_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    amount: Mapped[int] = mapped_column(BigInteger)
    position_amount: Mapped[int | None] = mapped_column(BigInteger, default=None)
    balance_after: Mapped[int | None] = mapped_column(BigInteger, default=None)

    __table_args__ = (UniqueConstraint("user_id", "idempotency_key"),)


class PoolTransition(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "pool_transitions"

    pool_id: Mapped[int] = mapped_column(ForeignKey("pools.id"), index=True)
    from_status: Mapped[str] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_kind: Mapped[str] = mapped_column(String(16))  # user | automation
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))


class PoolTemplate(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "pool_templates"

    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(String(120))
    outcomes: Mapped[list[str]] = mapped_column(JSONB)
    currency_kind: Mapped[str] = mapped_column(String(16))  # points | cash
    window_seconds: Mapped[int]
    min_stake: Mapped[int] = mapped_column(BigInteger)
    max_stake: Mapped[int] = mapped_column(BigInteger)
    rake_bps: Mapped[int | None] = mapped_column(SmallInteger, default=None)

    __table_args__ = (UniqueConstraint("channel_id", "name"),)
