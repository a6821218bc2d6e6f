"""Moving money: every movement is one balanced, idempotent ledger transaction."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

# Re-exported: callers have long imported the currency helpers from here.
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
WALLET_NOT_FROZEN = "ledger_wallet_frozen"
KEY_REUSED = "ledger_idempotency_key_reused"


@dataclass(frozen=True, slots=True)
class PostedTransaction:
    id: int
    #: True when the idempotency key had been used for this same transaction before.
    replayed: bool
    #: Cached balances, after the transaction, of the user wallets it touched.
    balances: dict[int, int]


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
        account_ids = sorted({p.account_id for p in postings})
        try:
            transaction_id, status = await ledger_repository.post(
                session,
                idempotency_key=idempotency_key,
                kind=kind,
                postings=postings,
                memo=memo,
                allow_frozen=allow_frozen,
            )
        except IntegrityError as error:
            name = constraint_name(error)
            if name == WALLET_NOT_NEGATIVE:
                raise InsufficientFunds() from error
            if name == WALLET_NOT_FROZEN:
                raise WalletFrozen() from error
            raise
        if status == "key_reused":
            raise IdempotencyKeyReused()
        wallets = await ledger_repository.wallet_balances(session, account_ids)
        balances = {w.account_id: w.balance for w in wallets}
        if status == "replayed":
            return PostedTransaction(transaction_id, True, balances)
        for wallet in wallets:
            emit_after_commit(
                session,
                "wallet:updated",
                WalletUpdated(currency=wallet.currency, balance=wallet.balance),
                user_room(wallet.user_id),
            )
        return PostedTransaction(transaction_id, False, balances)

    async def transfer(
        self,
        session: AsyncSession,
        from_account: int,
        to_account: int,
        amount: int,
        currency: str,
        *,
        key: str,
        kind: TransactionKind,
        memo: dict[str, Any] | None = None,
        allow_frozen: bool = False,
    ) -> PostedTransaction:
        """Move ``amount`` (> 0, minor units) of ``currency`` from one account to another: a
        two-entry ``post_transaction``, with the same idempotency and refusals."""
        if type(amount) is not int or amount <= 0:
            raise UnbalancedTransaction(f"A transfer moves a positive amount, not {amount!r}.")
        return await self.post_transaction(
            session,
            idempotency_key=key,
            kind=kind,
            postings=[
                Posting(from_account, currency, -amount),
                Posting(to_account, currency, amount),
            ],
            memo=memo,
            allow_frozen=allow_frozen,
        )

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
        """Post many transfers at once (payouts, refunds) from the rows staged in the
        temporary table ``payouts``: set-based, under the same database rules and fingerprint
        as ``post_transaction`` (balanced, append-only, idempotent by key, wallets never
        negative). A key used before for the same transfer is skipped; for another one,
        ``IdempotencyKeyReused``. Returns how many were posted."""
        try:
            return await ledger_repository.post_staged(
                session,
                key_prefix=key_prefix,
                kind=kind,
                source_account=source_account,
                currency=currency,
                memo=memo,
                ref_name=ref_name,
            )
        except IntegrityError as error:
            if constraint_name(error) == KEY_REUSED:
                raise IdempotencyKeyReused() from error
            raise

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
