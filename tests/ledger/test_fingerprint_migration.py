"""Migration 0011 replaced three fingerprint schemes with one: a retry of a transaction posted
before it is still recognised as the same transaction, and a reused key is still refused."""

import asyncio
import hashlib
from collections.abc import AsyncIterator

import asyncpg
import msgspec
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.migrate import upgrade
from app.kit.resources import Resources, open_resources
from app.kit.uow import unit_of_work
from app.ledger.errors import IdempotencyKeyReused
from app.ledger.repository import Posting
from app.ledger.service import ledger_service
from app.models.ledger import AccountKind, TransactionKind
from app.pool.repository import STAGING_TABLE
from app.settings import Settings
from tests.conftest import Servers

USD = "cash:USD"
DATABASE = "fingerprint_migration"


@pytest.fixture
async def database_at_0010(
    servers: Servers, admin_connection: asyncpg.Connection
) -> AsyncIterator[str]:
    await admin_connection.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    await admin_connection.execute(f"CREATE DATABASE {DATABASE}")
    url = servers.postgres.url(DATABASE)
    await asyncio.to_thread(upgrade, url, "0010")
    yield url
    await admin_connection.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


async def _post_as_0010(
    session: AsyncSession,
    key: str,
    kind: TransactionKind,
    postings: list[Posting],
    memo: dict[str, object],
) -> None:
    """What ``post_transaction`` wrote before 0011: its fingerprint was the SHA-256 of the
    JSON of kind, sorted postings and memo."""
    canonical = sorted((p.account_id, p.currency, p.amount) for p in postings)
    digest = hashlib.sha256(
        msgspec.json.encode([kind.value, canonical, memo], order="sorted")
    ).digest()
    transaction_id = await session.scalar(
        text(
            "INSERT INTO ledger_transactions (idempotency_key, kind, fingerprint, memo)"
            " VALUES (:key, CAST(:kind AS transaction_kind), :digest, CAST(:memo AS jsonb))"
            " RETURNING id"
        ),
        {
            "key": key,
            "kind": kind.value,
            "digest": digest,
            "memo": msgspec.json.encode(memo).decode(),
        },
    )
    for p in postings:
        await session.execute(
            text(
                "INSERT INTO ledger_entries (transaction_id, account_id, currency, amount)"
                " VALUES (:t, :a, :c, :n)"
            ),
            {"t": transaction_id, "a": p.account_id, "c": p.currency, "n": p.amount},
        )


async def _stage(session: AsyncSession, rows: list[tuple[int, int, int]]) -> None:
    await session.execute(text(STAGING_TABLE))
    for ref_id, account_id, amount in rows:
        await session.execute(
            text("INSERT INTO payouts (ref_id, account_id, amount) VALUES (:r, :a, :n)"),
            {"r": ref_id, "a": account_id, "n": amount},
        )


async def _post_staged_as_0010(session: AsyncSession, source: int) -> None:
    """What settlement wrote before 0011: fingerprints of ``prefix:ref:account:amount``."""
    params = {"prefix": "pool:1:payout", "memo": '{"pool_id": 1}', "source": source}
    await session.execute(
        text(
            "INSERT INTO ledger_transactions (id, idempotency_key, kind, fingerprint, memo)"
            " SELECT p.tx_id, :prefix || ':' || p.ref_id, 'payout',"
            "  sha256(convert_to(:prefix || ':' || p.ref_id || ':' || p.account_id || ':'"
            "   || p.amount, 'UTF8')),"
            "  CAST(:memo AS jsonb) || jsonb_build_object('bet_id', p.ref_id)"
            " FROM payouts p WHERE p.amount > 0"
        ),
        params,
    )
    await session.execute(
        text(
            "INSERT INTO ledger_entries (transaction_id, account_id, currency, amount)"
            " SELECT p.tx_id, line.account_id, 'cash:USD', line.amount FROM payouts p"
            " CROSS JOIN LATERAL (VALUES (CAST(:source AS bigint), -p.amount),"
            "  (p.account_id, p.amount)) AS line(account_id, amount)"
            " WHERE p.amount > 0"
        ),
        params,
    )


async def _retry_deposit(resources: Resources, clearing: int, wallet: int, amount: int) -> bool:
    async with unit_of_work(resources) as session:
        posted = await ledger_service.transfer(
            session,
            clearing,
            wallet,
            amount,
            USD,
            key="deposit:1:credit",
            kind=TransactionKind.deposit,
            memo={"deposit_id": 1},
        )
    return posted.replayed


async def _retry_payout(resources: Resources, escrow: int, wallet: int, amount: int) -> int:
    async with unit_of_work(resources) as session:
        await _stage(session, [(9, wallet, amount)])
        return await ledger_service.post_staged(
            session,
            key_prefix="pool:1:payout",
            kind=TransactionKind.payout,
            source_account=escrow,
            currency=USD,
            memo={"pool_id": 1},
            ref_name="bet_id",
        )


async def test_retries_of_transactions_posted_before_the_migration_are_recognised(
    database_at_0010: str, redis_url: str
) -> None:
    settings = Settings(database_url=database_at_0010, redis_url=redis_url)
    resources = await open_resources(settings)
    try:
        async with unit_of_work(resources) as session:
            # Raw SQL: the users table as it stood at 0010 (today's model has later columns).
            user_id = await session.scalar(
                text(
                    "INSERT INTO users (email, display_name) VALUES ('old@example.com', 'Old')"
                    " RETURNING id"
                )
            )
            assert user_id is not None
            wallet = await ledger_service.wallet(session, user_id, USD)
            clearing = await ledger_service.system_account(
                session, AccountKind.stripe_clearing, USD
            )
            escrow = await ledger_service.system_account(
                session, AccountKind.pool_escrow, USD, ref_id=1
            )
            await _post_as_0010(
                session,
                "deposit:1:credit",
                TransactionKind.deposit,
                [Posting(clearing, USD, -1_000), Posting(wallet, USD, 1_000)],
                {"deposit_id": 1},
            )
            await _stage(session, [(9, wallet, 250)])
            await _post_staged_as_0010(session, escrow)

        await asyncio.to_thread(upgrade, database_at_0010, "head")

        assert await _retry_deposit(resources, clearing, wallet, 1_000) is True
        assert await _retry_payout(resources, escrow, wallet, 250) == 0
        with pytest.raises(IdempotencyKeyReused):
            await _retry_deposit(resources, clearing, wallet, 999)
        with pytest.raises(IdempotencyKeyReused):
            await _retry_payout(resources, escrow, wallet, 251)
        async with unit_of_work(resources) as session:
            assert await ledger_service.balance(session, wallet) == 1_250
            assert await session.scalar(text("SELECT count(*) FROM ledger_transactions")) == 2
            assert await ledger_service.check(session) == []
    finally:
        await resources.close()
