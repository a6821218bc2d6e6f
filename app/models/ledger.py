"""The double-entry ledger: accounts, transactions and their append-only entries."""

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Enum,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    LargeBinary,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.kit.currency import PATTERN
from app.models.base import Base, CreatedAtMixin, IdMixin


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    return Enum(cls, name=name, values_callable=lambda e: [m.value for m in e])


class AccountKind(enum.StrEnum):
    user_wallet = "user_wallet"  # a user's balance in one currency (cached, never negative)
    pool_escrow = "pool_escrow"  # stakes held by a pool until it is settled or refunded
    house = "house"  # rake
    stripe_clearing = "stripe_clearing"  # cash in flight from or back to Stripe
    points_issuer = "points_issuer"  # mints a channel's points (goes negative)
    pending_withdrawals = "pending_withdrawals"  # cash held for withdrawals awaiting review
    payouts = "payouts"  # cash paid out to users' banks


class TransactionKind(enum.StrEnum):
    deposit = "deposit"
    deposit_reversal = "deposit_reversal"  # refund or dispute of a deposit, taken back
    bet = "bet"
    payout = "payout"
    rake = "rake"
    refund = "refund"
    grant = "grant"
    withdrawal = "withdrawal"
    withdrawal_rejected = "withdrawal_rejected"
    withdrawal_paid = "withdrawal_paid"
    transfer = "transfer"


class Account(IdMixin, CreatedAtMixin, Base):
    """An account in one currency. Only user wallets keep a cached ``balance``, maintained by a
    trigger from the entries; accounts many writers credit at once keep none."""

    __tablename__ = "accounts"

    kind: Mapped[AccountKind] = mapped_column(_enum(AccountKind, "account_kind"))
    currency: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    ref_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    balance: Mapped[int | None] = mapped_column(BigInteger, default=None)
    frozen: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))

    __table_args__ = (
        UniqueConstraint(
            "kind", "currency", "user_id", "ref_id", postgresql_nulls_not_distinct=True
        ),
        UniqueConstraint("id", "currency", name="uq_accounts_id_currency"),
        CheckConstraint("balance >= 0", name="wallet_not_negative"),
        CheckConstraint(
            "(kind = 'user_wallet') = (balance IS NOT NULL AND user_id IS NOT NULL)",
            name="only_wallets_cache_balance",
        ),
        CheckConstraint(f"currency ~ '{PATTERN}'", name="currency_format"),
        # Room in each page: a wallet's balance changes in place (a HOT update).
        {"postgresql_with": {"fillfactor": 85}},
    )


class LedgerTransaction(IdMixin, CreatedAtMixin, Base):
    """One movement of money: two or more entries summing to zero per currency."""

    __tablename__ = "ledger_transactions"

    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[TransactionKind] = mapped_column(_enum(TransactionKind, "transaction_kind"))
    fingerprint: Mapped[bytes] = mapped_column(LargeBinary(32))
    memo: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))


class LedgerEntry(IdMixin, Base):
    """An append-only line of a transaction (the database refuses UPDATE and DELETE)."""

    __tablename__ = "ledger_entries"

    transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"))
    account_id: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(64))
    amount: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))

    __table_args__ = (
        CheckConstraint("amount <> 0", name="amount_not_zero"),
        # An entry's currency is its account's currency.
        ForeignKeyConstraint(
            ["account_id", "currency"],
            ["accounts.id", "accounts.currency"],
            name="fk_ledger_entries_account_currency",
        ),
        Index("ix_ledger_entries_transaction_id", "transaction_id"),
        Index("ix_ledger_entries_account_id_id", "account_id", "id"),
    )
