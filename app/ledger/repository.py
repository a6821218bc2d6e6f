"""All SQL of the ledger: accounts, transactions, entries, and the invariant checks."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.ledger import AccountKind, TransactionKind


@dataclass(frozen=True, slots=True)
class Posting:
    """One line of a ledger transaction: ``amount`` (minor units) to ``account_id``."""

    account_id: int
    currency: str
    amount: int


@dataclass(frozen=True, slots=True)
class WalletBalance:
    account_id: int
    user_id: int
    currency: str
    balance: int


@dataclass(frozen=True, slots=True)
class EntryRow:
    id: int
    transaction_id: int
    amount: int
    kind: str
    memo: dict[str, Any]
    created_at: Any


class LedgerRepository:
    async def find_account(
        self,
        session: AsyncSession,
        kind: AccountKind,
        currency: str,
        user_id: int | None = None,
        ref_id: int | None = None,
    ) -> int | None:
        result = await session.execute(
            text(
                "SELECT id FROM accounts WHERE kind = :kind AND currency = :currency"
                " AND user_id IS NOT DISTINCT FROM :user_id"
                " AND ref_id IS NOT DISTINCT FROM :ref_id"
            ),
            {"kind": kind.value, "currency": currency, "user_id": user_id, "ref_id": ref_id},
        )
        return result.scalar_one_or_none()

    async def ensure_account(
        self,
        session: AsyncSession,
        kind: AccountKind,
        currency: str,
        user_id: int | None = None,
        ref_id: int | None = None,
    ) -> int:
        """The account's id, creating it (empty) the first time."""
        found = await self.find_account(session, kind, currency, user_id, ref_id)
        if found is not None:
            return found
        await session.execute(
            text(
                "INSERT INTO accounts (kind, currency, user_id, ref_id, balance)"
                " VALUES (:kind, :currency, :user_id, :ref_id, :balance)"
                " ON CONFLICT DO NOTHING"
            ),
            {
                "kind": kind.value,
                "currency": currency,
                "user_id": user_id,
                "ref_id": ref_id,
                "balance": 0 if kind is AccountKind.user_wallet else None,
            },
        )
        created = await self.find_account(session, kind, currency, user_id, ref_id)
        assert created is not None
        return created

    async def post(
        self,
        session: AsyncSession,
        *,
        idempotency_key: str,
        kind: TransactionKind,
        postings: Sequence[Posting],
        memo: dict[str, Any],
        allow_frozen: bool,
    ) -> tuple[int, str]:
        """One transaction through ``ledger_post()`` (``app/ledger/sql/ledger_post.sql``):
        its id and ``posted``, ``replayed`` or ``key_reused``. Waits for a concurrent holder
        of the same key to commit or roll back, as the unique index does."""
        result = await session.execute(
            text(
                "SELECT transaction_id, status FROM ledger_post(:key,"
                " CAST(:kind AS transaction_kind), CAST(:memo AS jsonb),"
                " CAST(:accounts AS bigint[]), CAST(:currencies AS text[]),"
                " CAST(:amounts AS bigint[]), :allow_frozen)"
            ),
            {
                "key": idempotency_key,
                "kind": kind.value,
                "memo": msgspec.json.encode(memo).decode(),
                "accounts": [p.account_id for p in postings],
                "currencies": [p.currency for p in postings],
                "amounts": [p.amount for p in postings],
                "allow_frozen": allow_frozen,
            },
        )
        row = result.one()
        return int(row.transaction_id), str(row.status)

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
        """One transfer per row of the temporary table ``payouts`` (ref_id, account_id,
        amount, tx_id): ``source_account`` → ``account_id``, keyed ``{key_prefix}:{ref_id}``,
        through ``ledger_post_staged()`` (``app/ledger/sql/ledger_post_staged.sql``): set-based
        whatever the number of rows. Returns how many were posted (replays are skipped)."""
        result = await session.execute(
            text(
                "SELECT ledger_post_staged(:prefix, CAST(:kind AS transaction_kind),"
                " CAST(:memo AS jsonb), :ref_name, :source, :currency)"
            ),
            {
                "prefix": key_prefix,
                "kind": kind.value,
                "memo": msgspec.json.encode(memo).decode(),
                "ref_name": ref_name,
                "currency": currency,
                "source": source_account,
            },
        )
        return int(result.scalar_one())

    async def wallet_balances(
        self, session: AsyncSession, account_ids: Sequence[int]
    ) -> list[WalletBalance]:
        """The cached balances of the user wallets among ``account_ids``, with their owners."""
        result = await session.execute(
            text(
                "SELECT id, user_id, currency, balance FROM accounts"
                " WHERE id = ANY(CAST(:ids AS bigint[])) AND balance IS NOT NULL"
            ),
            {"ids": list(account_ids)},
        )
        return [
            WalletBalance(int(row.id), int(row.user_id), row.currency, int(row.balance))
            for row in result
        ]

    async def balance(self, session: AsyncSession, account_id: int) -> int:
        """Any account's balance: the cached one for wallets, the sum of entries otherwise."""
        result = await session.execute(
            text(
                "SELECT coalesce(a.balance, (SELECT coalesce(sum(e.amount), 0)"
                " FROM ledger_entries e WHERE e.account_id = a.id)) FROM accounts a"
                " WHERE a.id = :id"
            ),
            {"id": account_id},
        )
        return int(result.scalar_one())

    async def user_wallets(
        self, session: AsyncSession, user_id: int
    ) -> list[tuple[str, int, bool]]:
        result = await session.execute(
            text(
                "SELECT currency, balance, frozen FROM accounts"
                " WHERE user_id = :user_id AND kind = 'user_wallet' ORDER BY currency"
            ),
            {"user_id": user_id},
        )
        return [(row.currency, int(row.balance), bool(row.frozen)) for row in result]

    async def set_frozen(self, session: AsyncSession, account_id: int, frozen: bool) -> None:
        await session.execute(
            text("UPDATE accounts SET frozen = :frozen WHERE id = :id"),
            {"id": account_id, "frozen": frozen},
        )

    async def entries(
        self, session: AsyncSession, account_id: int, before_id: int | None, limit: int
    ) -> list[EntryRow]:
        """An account's entries, newest first, each with the balance right after it."""
        result = await session.execute(
            text(
                "SELECT e.id, e.transaction_id, e.amount, e.created_at, t.kind, t.memo"
                " FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id"
                " WHERE e.account_id = :account AND (CAST(:before AS bigint) IS NULL"
                " OR e.id < :before)"
                " ORDER BY e.id DESC LIMIT :limit"
            ),
            {"account": account_id, "before": before_id, "limit": limit},
        )
        return [
            EntryRow(
                id=int(row.id),
                transaction_id=int(row.transaction_id),
                amount=int(row.amount),
                kind=str(row.kind),
                memo=dict(row.memo),
                created_at=row.created_at,
            )
            for row in result
        ]

    async def sum_since(self, session: AsyncSession, account_id: int, from_id: int) -> int:
        """The sum of an account's entries with ids from ``from_id`` on."""
        result = await session.execute(
            text(
                "SELECT coalesce(sum(amount), 0) FROM ledger_entries"
                " WHERE account_id = :account AND id >= :from_id"
            ),
            {"account": account_id, "from_id": from_id},
        )
        return int(result.scalar_one())

    # -- invariants (DESIGN §4), each query returns the rows that break one ------------------

    async def unbalanced_transactions(self, session: AsyncSession) -> list[str]:
        result = await session.execute(
            text(
                "SELECT transaction_id, currency, sum(amount) AS total FROM ledger_entries"
                " GROUP BY transaction_id, currency HAVING sum(amount) <> 0"
                " ORDER BY transaction_id LIMIT 100"
            )
        )
        return [
            f"transaction {r.transaction_id} does not balance in {r.currency}: off by {r.total}"
            for r in result
        ]

    async def transactions_without_two_entries(self, session: AsyncSession) -> list[str]:
        result = await session.execute(
            text(
                "SELECT t.id, count(e.id) AS n FROM ledger_transactions t"
                " LEFT JOIN ledger_entries e ON e.transaction_id = t.id"
                " GROUP BY t.id HAVING count(e.id) < 2 ORDER BY t.id LIMIT 100"
            )
        )
        return [f"transaction {r.id} has {r.n} entries (at least 2 expected)" for r in result]

    async def stale_cached_balances(self, session: AsyncSession) -> list[str]:
        result = await session.execute(
            text(
                "SELECT a.id, a.balance, coalesce(s.total, 0) AS total FROM accounts a"
                " LEFT JOIN (SELECT account_id, sum(amount) AS total FROM ledger_entries"
                " GROUP BY account_id) s ON s.account_id = a.id"
                " WHERE a.balance IS NOT NULL AND a.balance <> coalesce(s.total, 0)"
                " ORDER BY a.id LIMIT 100"
            )
        )
        return [
            f"account {r.id} caches balance {r.balance} but its entries sum to {r.total}"
            for r in result
        ]

    async def negative_wallets(self, session: AsyncSession) -> list[str]:
        result = await session.execute(
            text(
                "SELECT a.id, a.user_id, a.currency, coalesce(sum(e.amount), 0) AS total"
                " FROM accounts a LEFT JOIN ledger_entries e ON e.account_id = a.id"
                " WHERE a.kind = 'user_wallet' GROUP BY a.id"
                " HAVING coalesce(sum(e.amount), 0) < 0 OR min(a.balance) < 0"
                " ORDER BY a.id LIMIT 100"
            )
        )
        return [
            f"wallet {r.id} of user {r.user_id} is negative in {r.currency}: {r.total}"
            for r in result
        ]

    async def unsettled_escrows(self, session: AsyncSession) -> list[str]:
        result = await session.execute(
            text(
                "SELECT p.id, p.status, coalesce(sum(e.amount), 0) AS left_over FROM pools p"
                " LEFT JOIN ledger_entries e ON e.account_id = p.escrow_account_id"
                " WHERE p.status IN ('settled', 'refunded') GROUP BY p.id"
                " HAVING coalesce(sum(e.amount), 0) <> 0 ORDER BY p.id LIMIT 100"
            )
        )
        return [f"{r.status} pool {r.id} still holds {r.left_over} in escrow" for r in result]

    async def mismatched_entry_currencies(self, session: AsyncSession) -> list[str]:
        result = await session.execute(
            text(
                "SELECT e.id, e.currency, a.currency AS account_currency FROM ledger_entries e"
                " JOIN accounts a ON a.id = e.account_id WHERE a.currency <> e.currency LIMIT 100"
            )
        )
        return [
            f"entry {r.id} is in {r.currency} but its account is in {r.account_currency}"
            for r in result
        ]


ledger_repository = LedgerRepository()
