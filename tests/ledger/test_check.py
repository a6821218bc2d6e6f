"""`ledger_service.check` names every broken invariant. PostgreSQL refuses to break them, so
each corruption is planted here by hand, in the test's own database, with the rules switched
off (``session_replication_role = replica`` skips triggers and foreign keys)."""

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.tokens import Principal
from app.kit.currency import points
from app.kit.resources import Resources
from app.kit.uow import unit_of_work
from app.ledger.service import ledger_service
from app.models.ledger import AccountKind
from app.models.user import Role
from app.pool import schemas
from app.pool.betting import pool_betting
from app.settings import Settings
from tests.factories import create_channel, create_pool, create_user, fund_wallet
from tests.ledger.test_cli import ledger_check_command

CASH = "cash:USD"


async def _violations(resources: Resources) -> list[str]:
    async with unit_of_work(resources) as session:
        return await ledger_service.check(session)


async def _rules_off(session: AsyncSession) -> None:
    await session.execute(text("SET LOCAL session_replication_role = replica"))


async def _transaction(session: AsyncSession, key: str, entries: list[tuple[int, str, int]]) -> int:
    """A ledger transaction with exactly these (account, currency, amount) entries, written
    past every rule; returns its id."""
    transaction_id = int(
        await session.scalar(
            text(
                "INSERT INTO ledger_transactions (idempotency_key, kind, fingerprint)"
                " VALUES (:key, 'transfer', decode('00', 'hex')) RETURNING id"
            ),
            {"key": key},
        )
    )
    for account, currency, amount in entries:
        await session.execute(
            text(
                "INSERT INTO ledger_entries (transaction_id, account_id, currency, amount)"
                " VALUES (:t, :a, :c, :n)"
            ),
            {"t": transaction_id, "a": account, "c": currency, "n": amount},
        )
    return transaction_id


async def _funded_user(resources: Resources, settings: Settings) -> tuple[int, int, int]:
    """A user with 500 cents: (user id, wallet id, Stripe clearing account id)."""
    async with unit_of_work(resources) as session:
        user = await create_user(session, settings)
        wallet = await fund_wallet(session, user.id, 500, CASH)
        clearing = await ledger_service.system_account(session, AccountKind.stripe_clearing, CASH)
    assert await _violations(resources) == []
    return user.id, wallet, clearing


async def test_a_sound_ledger_has_no_violations(resources: Resources, settings: Settings) -> None:
    await _funded_user(resources, settings)
    await _pool_with_a_stake(resources, settings)
    assert await _violations(resources) == []


@pytest.mark.ledger_violations_expected
async def test_a_wallet_overdrawn_by_its_entries_is_named(
    resources: Resources, settings: Settings
) -> None:
    user_id, wallet, clearing = await _funded_user(resources, settings)
    async with unit_of_work(resources) as session:
        await _rules_off(session)
        await _transaction(session, "overdraw", [(wallet, CASH, -800), (clearing, CASH, 800)])
    violations = await _violations(resources)
    assert f"wallet {wallet} of user {user_id} is negative in {CASH}: -300" in violations
    # Its cached balance was not moved either (the trigger was off).
    assert f"account {wallet} caches balance 500 but its entries sum to -300" in violations


@pytest.mark.ledger_violations_expected
async def test_a_wallet_with_a_negative_cached_balance_is_named(
    resources: Resources, settings: Settings
) -> None:
    user_id, wallet, _ = await _funded_user(resources, settings)
    async with unit_of_work(resources) as session:
        await session.execute(
            text("ALTER TABLE accounts DROP CONSTRAINT ck_accounts_wallet_not_negative")
        )
        await session.execute(text("UPDATE accounts SET balance = -1 WHERE id = :w"), {"w": wallet})
    violations = await _violations(resources)
    assert any(v.startswith(f"wallet {wallet} of user {user_id} is negative") for v in violations)


async def _pool_with_a_stake(resources: Resources, settings: Settings) -> tuple[int, int]:
    """An open points pool holding one stake of 100: (pool id, escrow account id)."""
    async with unit_of_work(resources) as session:
        owner = await create_user(session, settings)
        bettor = await create_user(session, settings)
        channel = await create_channel(session, owner.id)
        await fund_wallet(session, bettor.id, 1_000, points(channel.id))
    async with unit_of_work(resources) as session:
        pool = await create_pool(
            session,
            resources,
            channel,
            title="check",
            outcomes=["a", "b"],
            actor=Principal(owner.id, Role.user),
        )
    async with unit_of_work(resources) as session:
        await pool_betting.place_bet(
            session,
            resources,
            bettor.id,
            pool.id,
            schemas.BetCreate(outcome_id=pool.outcomes[0].id, amount=100),
            "stake",
        )
        escrow = await session.scalar(
            text("SELECT escrow_account_id FROM pools WHERE id = :p"), {"p": pool.id}
        )
    return pool.id, int(escrow)


@pytest.mark.ledger_violations_expected
@pytest.mark.parametrize("status", ["settled", "refunded"])
async def test_a_paid_pool_still_holding_escrow_is_named(
    resources: Resources, settings: Settings, status: str
) -> None:
    pool_id, escrow = await _pool_with_a_stake(resources, settings)
    assert await _violations(resources) == []  # an open pool may hold stakes
    async with unit_of_work(resources) as session:
        assert await ledger_service.balance(session, escrow) == 100
        await _rules_off(session)  # PostgreSQL refuses to pay a pool with escrow left
        await session.execute(
            text("UPDATE pools SET status = CAST(:s AS pool_status) WHERE id = :p"),
            {"s": status, "p": pool_id},
        )
    violations = await _violations(resources)
    assert violations == [f"{status} pool {pool_id} still holds 100 in escrow"]


@pytest.mark.ledger_violations_expected
async def test_transactions_with_fewer_than_two_entries_are_named(
    resources: Resources, settings: Settings
) -> None:
    _, _, clearing = await _funded_user(resources, settings)
    async with unit_of_work(resources) as session:
        empty = await _transaction(session, "empty", [])
    assert await _violations(resources) == [
        f"transaction {empty} has 0 entries (at least 2 expected)"
    ]
    async with unit_of_work(resources) as session:
        await _rules_off(session)
        single = await _transaction(session, "single", [(clearing, CASH, 5)])
    violations = await _violations(resources)
    assert f"transaction {empty} has 0 entries (at least 2 expected)" in violations
    assert f"transaction {single} has 1 entries (at least 2 expected)" in violations
    assert f"transaction {single} does not balance in {CASH}: off by 5" in violations


@pytest.mark.ledger_violations_expected
async def test_an_entry_in_another_currency_than_its_account_is_named(
    resources: Resources, settings: Settings
) -> None:
    _, wallet, clearing = await _funded_user(resources, settings)
    async with unit_of_work(resources) as session:
        await _rules_off(session)
        # Balanced in its own currency, but booked on two USD accounts.
        transaction_id = await _transaction(
            session, "euros", [(wallet, "cash:EUR", -5), (clearing, "cash:EUR", 5)]
        )
        entries = list(
            (
                await session.execute(
                    text("SELECT id FROM ledger_entries WHERE transaction_id = :t ORDER BY id"),
                    {"t": transaction_id},
                )
            ).scalars()
        )
    violations = await _violations(resources)
    for entry in entries:
        assert f"entry {entry} is in cash:EUR but its account is in {CASH}" in violations


@pytest.mark.ledger_violations_expected
async def test_the_command_names_each_violation_and_fails(
    resources: Resources, settings: Settings
) -> None:
    user_id, wallet, clearing = await _funded_user(resources, settings)
    pool_id, _ = await _pool_with_a_stake(resources, settings)
    async with unit_of_work(resources) as session:
        await _rules_off(session)
        await _transaction(session, "overdraw", [(wallet, CASH, -800), (clearing, CASH, 800)])
        single = await _transaction(session, "single", [(clearing, CASH, 5)])
        await session.execute(
            text("UPDATE pools SET status = 'settled' WHERE id = :p"), {"p": pool_id}
        )
    expected = await _violations(resources)
    result = ledger_check_command(settings)
    assert result.returncode == 1, result.stdout + result.stderr
    printed = [line for line in result.stdout.splitlines() if line.startswith("VIOLATION: ")]
    assert printed == [f"VIOLATION: {v}" for v in expected]
    for named in (
        f"wallet {wallet} of user {user_id} is negative",
        f"settled pool {pool_id} still holds 100 in escrow",
        f"transaction {single} has 1 entries",
    ):
        assert named in result.stdout
    assert f"{len(expected)} violation(s)" in result.stdout
