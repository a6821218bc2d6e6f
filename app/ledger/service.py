"""Moving money: every movement is one balanced, idempotent ledger transaction."""

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.effects import emit_after_commit
from app.kit.pg import constraint_name
from app.kit.rooms import user_room
from app.ledger.errors import (
    IdempotencyKeyReused,
    InsufficientFunds,
    UnbalancedTransaction,
    WalletFrozen,
)
from app.ledger.repository import Posting, ledger_repository
from app.ledger.schemas import WalletUpdated
from app.models.ledger import AccountKind, TransactionKind

BIGINT_MAX = 2**63 - 1
WALLET_NOT_NEGATIVE = "ck_accounts_wallet_not_negative"


@dataclass(frozen=True, slots=True)
class PostedTransaction:
    id: int
    #: True when the idempotency key had been used for this same transaction before.
    replayed: bool
    #: Cached balances, after the transaction, of the user wallets it touched.
    balances: dict[int, int]


def cash(currency_code: str) -> str:
    return f"cash:{currency_code.upper()}"


def points(channel_id: int) -> str:
    return f"points:{channel_id}"


def fingerprint(kind: TransactionKind, postings: Sequence[Posting], memo: dict[str, Any]) -> bytes:
    canonical = sorted((p.account_id, p.currency, p.amount) for p in postings)
    return hashlib.sha256(
        msgspec.json.encode([kind.value, canonical, memo], order="sorted")
    ).digest()


def check_balanced(postings: Sequence[Posting]) -> None:
    if len(postings) < 2:
        raise UnbalancedTransaction("A transaction needs at least two entries.")
    totals: dict[str, int] = defaultdict(int)
    for posting in postings:
        if (
            type(posting.amount) is not int
            or posting.amount == 0
            or abs(posting.amount) > BIGINT_MAX
        ):
            raise UnbalancedTransaction(f"Invalid amount {posting.amount!r}.")
        totals[posting.currency] += posting.amount
    unbalanced = {currency: total for currency, total in totals.items() if total != 0}
    if unbalanced:
        raise UnbalancedTransaction(f"Entries do not sum to zero: {unbalanced}.")


class LedgerService:
    async def post_transaction(
        self,
        session: AsyncSession,
        *,
        idempotency_key: str,
        kind: TransactionKind,
        postings: Sequence[Posting],
        memo: dict[str, Any] | None = None,
        allow_frozen: bool = False,
    ) -> PostedTransaction:
        """Move money. Replaying a key returns the original transaction; the same key with
        other content raises ``IdempotencyKeyReused``; an overdraft raises
        ``InsufficientFunds`` (enforced by the wallet's CHECK, so races cannot beat it)."""
        memo = memo or {}
        check_balanced(postings)
        digest = fingerprint(kind, postings, memo)
        account_ids = sorted({p.account_id for p in postings})
        transaction_id = await ledger_repository.insert_transaction(
            session, idempotency_key, kind, digest, memo
        )
        if transaction_id is None:
            existing_id, existing_digest = await ledger_repository.get_transaction_by_key(
                session, idempotency_key
            )
            if existing_digest != digest:
                raise IdempotencyKeyReused()
            wallets = await ledger_repository.wallet_balances(session, account_ids)
            return PostedTransaction(existing_id, True, {w.account_id: w.balance for w in wallets})
        if not allow_frozen:
            debited = [p.account_id for p in postings if p.amount < 0]
            if await ledger_repository.frozen_among(session, debited):
                raise WalletFrozen()
        try:
            await ledger_repository.insert_entries(session, transaction_id, postings)
        except IntegrityError as error:
            if constraint_name(error) == WALLET_NOT_NEGATIVE:
                raise InsufficientFunds() from error
            raise
        wallets = await ledger_repository.wallet_balances(session, account_ids)
        for wallet in wallets:
            emit_after_commit(
                session,
                "wallet:updated",
                WalletUpdated(currency=wallet.currency, balance=wallet.balance),
                user_room(wallet.user_id),
            )
        return PostedTransaction(transaction_id, False, {w.account_id: w.balance for w in wallets})

    async def post_staged(
        self,
        session: AsyncSession,
        *,
        key_prefix: str,
        kind: TransactionKind,
        source_account: int,
        currency: str,
        memo: dict[str, Any],
        ref_name: str,
    ) -> int:
        """Post many transactions at once (payouts, refunds) from the rows staged in the
        temporary table ``payouts``: set-based, under the same database rules as
        ``post_transaction`` (balanced, append-only, idempotent by key, wallets never
        negative)."""
        return await ledger_repository.post_staged(
            session,
            key_prefix=key_prefix,
            kind=kind,
            source_account=source_account,
            currency=currency,
            memo=memo,
            ref_name=ref_name,
        )

    async def wallet(self, session: AsyncSession, user_id: int, currency: str) -> int:
        """The id of the user's wallet in ``currency``, created empty the first time."""
        return await ledger_repository.ensure_account(
            session, AccountKind.user_wallet, currency, user_id=user_id
        )

    async def system_account(
        self, session: AsyncSession, kind: AccountKind, currency: str, ref_id: int | None = None
    ) -> int:
        return await ledger_repository.ensure_account(session, kind, currency, ref_id=ref_id)

    async def balance(self, session: AsyncSession, account_id: int) -> int:
        return await ledger_repository.balance(session, account_id)

    async def check(self, session: AsyncSession) -> list[str]:
        """Every violated invariant of the ledger, in words; empty when all hold."""
        violations: list[str] = []
        for check in (
            ledger_repository.unbalanced_transactions,
            ledger_repository.transactions_without_two_entries,
            ledger_repository.stale_cached_balances,
            ledger_repository.negative_wallets,
            ledger_repository.mismatched_entry_currencies,
            ledger_repository.unsettled_escrows,
        ):
            violations.extend(await check(session))
        return violations


ledger_service = LedgerService()
