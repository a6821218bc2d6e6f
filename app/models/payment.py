"""Cash in and out: Stripe deposits and reviewed withdrawals."""

import enum
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Enum, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, CreatedAtMixin, IdMixin


class DepositStatus(enum.StrEnum):
    pending = "pending"  # checkout created, not paid yet (or a delayed method processing)
    succeeded = "succeeded"  # paid and credited
    failed = "failed"  # the delayed payment failed
    expired = "expired"  # the checkout session expired unpaid
    # Stripe reported a payment whose amount or currency is not the deposit's: nothing is
    # credited until an admin reviews it (see reported_amount and reported_currency).
    held = "held"
    rejected = "rejected"  # held, then refused by an admin: never credited


class WithdrawalStatus(enum.StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"


class Deposit(IdMixin, CreatedAtMixin, Base):
    """A cash deposit through Stripe Checkout. Stripe's events may come twice, concurrently or
    out of order; the columns record what Stripe has told us, and the wallet follows from them."""

    __tablename__ = "deposits"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    currency: Mapped[str] = mapped_column(String(64))
    amount: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[DepositStatus] = mapped_column(
        Enum(DepositStatus, name="deposit_status", values_callable=lambda e: [m.value for m in e]),
        default=DepositStatus.pending,
    )
    checkout_session_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    checkout_url: Mapped[str | None] = mapped_column(String(2048))
    payment_intent_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    paid: Mapped[bool] = mapped_column(default=False)
    # What Stripe reports taken back (refunds and disputes), and what we actually took back.
    refunded_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    disputed_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    reversed_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    # Taken back but already spent: the wallet is frozen until this is settled.
    owed_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime | None] = mapped_column(default=None)
    # What a paid Checkout Session said when it did not match the deposit (status held).
    reported_amount: Mapped[int | None] = mapped_column(BigInteger, default=None)
    reported_currency: Mapped[str | None] = mapped_column(String(16), default=None)
    # An admin's decision on a held deposit.
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    reviewed_at: Mapped[datetime | None] = mapped_column(default=None)
    review_note: Mapped[str | None] = mapped_column(String(500), default=None)

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("reversed_amount + owed_amount <= amount", name="reversal_within_amount"),
        Index("ix_deposits_user_id_created_at", "user_id", "created_at"),
        Index("ix_deposits_held", "id", postgresql_where=text("status = 'held'")),
    )


class Withdrawal(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "withdrawals"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    currency: Mapped[str] = mapped_column(String(64))
    amount: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[WithdrawalStatus] = mapped_column(
        Enum(
            WithdrawalStatus,
            name="withdrawal_status",
            values_callable=lambda e: [m.value for m in e],
        ),
        default=WithdrawalStatus.pending,
    )
    idempotency_key: Mapped[str] = mapped_column(String(255))
    payout_reference: Mapped[str | None] = mapped_column(String(255), default=None)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    reason: Mapped[str | None] = mapped_column(String(500), default=None)

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        # Nobody approves their own withdrawal (the service says so first, with a clear error).
        CheckConstraint(
            "status <> 'approved' OR decided_by IS DISTINCT FROM user_id",
            name="not_self_approved",
        ),
        Index("uq_withdrawals_user_key", "user_id", "idempotency_key", unique=True),
    )
