"""Settlement: the parimutuel rule exactly (property-tested against app.pool.parimutuel), safe
twice and concurrently, surviving a worker killed mid-settlement; bets cannot pass a lock;
timers lock and cancel."""

import asyncio
import signal
from collections import Counter

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.tokens import Principal
from app.kit.resources import Resources
from app.kit.uow import unit_of_work
from app.ledger.service import ledger_service
from app.models.channel import Channel
from app.models.ledger import AccountKind, TransactionKind
from app.models.pool import PoolStatus
from app.models.user import Role
from app.pool import parimutuel, schemas
from app.pool.betting import pool_betting
from app.pool.lifecycle import pool_lifecycle
from app.pool.settlement import pool_settlement
from app.settings import Settings
from tests.conftest import RunJobs, worker_process
from tests.factories import create_channel, create_pool, create_user, fund_wallet
from tests.worlds import World, bet, open_pool, points_balance

Client = httpx.AsyncClient


positions = st.lists(st.tuples(st.integers(1, 10**9), st.integers(0, 2)), min_size=1, max_size=12)


@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(stakes=positions, winner=st.integers(0, 2), rake_bps=st.sampled_from([0, 1, 250, 500, 1000]))
async def test_settlement_pays_exactly_the_parimutuel_rule(
    resources: Resources,
    settings: Settings,
    stakes: list[tuple[int, int]],
    winner: int,
    rake_bps: int,
) -> None:
    await settle_and_check(resources, settings, stakes, winner, rake_bps)


async def test_payouts_of_a_trillion_unit_pool_are_split_exactly(
    resources: Resources, settings: Settings
) -> None:
    # Three winners whose shares leave 2 units over: by the largest remainders they go to the
    # first and second winner. 500000000000.999999999998 must not be rounded up to a whole.
    w = 10**12
    stakes = [(w // 2 - 1, 0), (3 * w // 10, 0), (2 * w // 10 + 1, 0), (2, 1)]
    paid = await settle_and_check(resources, settings, stakes, winner=0, rake_bps=0)
    assert paid == [w // 2, 3 * w // 10 + 1, 2 * w // 10 + 1, 0]


#: What each bettor of settle_and_check holds before betting.
FUNDS = 10**12


async def settle_and_check(
    resources: Resources,
    settings: Settings,
    stakes: list[tuple[int, int]],
    winner: int,
    rake_bps: int,
) -> list[int]:
    """Bet ``stakes`` ((amount, outcome) per bettor) on a cash pool, resolve it for ``winner``
    and settle it; check payouts, rake, balances and the ledger against the plain rule.
    Returns the payouts, in the order of ``stakes``."""
    async with unit_of_work(resources) as session:
        owner = await create_user(session, settings, role=Role.admin)
        channel = await create_channel(session, owner.id, cash_enabled=True)
        users = [await create_user(session, settings) for _ in stakes]
        for user in users:
            await fund_wallet(session, user.id, FUNDS)
        await session.execute(
            text("UPDATE users SET birth_date = '1990-01-01' WHERE id = ANY(:ids)"),
            {"ids": [u.id for u in users]},
        )
    admin = Principal(owner.id, Role.admin)
    async with unit_of_work(resources) as session:
        pool = await create_pool(
            session,
            resources,
            channel,
            title="property",
            outcomes=["a", "b", "c"],
            currency="cash",
            max_stake=10**12,
            rake_bps=rake_bps,
            actor=admin,
        )
    outcome_ids = [o.id for o in pool.outcomes]
    for n, (user, (amount, outcome)) in enumerate(zip(users, stakes, strict=True)):
        async with unit_of_work(resources) as session:
            await pool_betting.place_bet(
                session,
                resources,
                user.id,
                pool.id,
                schemas.BetCreate(outcome_id=outcome_ids[outcome], amount=amount),
                f"p{n}",
            )
    async with unit_of_work(resources) as session:
        await pool_lifecycle.lock(session, resources, admin, pool.id)
        await pool_lifecycle.resolve(session, resources, admin, pool.id, outcome_ids[winner])
    async with unit_of_work(resources) as session:
        assert await pool_settlement.settle(session, resources, pool.id)
    async with unit_of_work(resources) as session:
        rows = await session.execute(
            text("SELECT user_id, coalesce(payout, 0) AS payout FROM bets WHERE pool_id = :p"),
            {"p": pool.id},
        )
        paid = {int(r.user_id): int(r.payout) for r in rows}
        rake = await session.scalar(
            text("SELECT rake_amount FROM pools WHERE id = :p"), {"p": pool.id}
        )
        balances = [
            await ledger_service.balance(
                session, await ledger_service.wallet(session, u.id, "cash:USD")
            )
            for u in users
        ]
        assert await ledger_service.check(session) == []

    expected, expected_rake = parimutuel.payouts(
        [(amount, outcome == winner) for amount, outcome in stakes], rake_bps
    )
    assert [paid[u.id] for u in users] == expected
    assert rake == expected_rake
    total = sum(amount for amount, _ in stakes)
    assert sum(expected) + expected_rake == total  # payouts + rake = S, exactly
    for (amount, outcome), payout in zip(stakes, expected, strict=True):
        if outcome == winner:
            assert payout >= amount  # no winner below their stake
    assert balances == [
        FUNDS - amount + payout for (amount, _), payout in zip(stakes, expected, strict=True)
    ]
    return expected


async def test_settling_twice_at_once_pays_once(
    client: Client, world: World, resources: Resources
) -> None:
    pool = await open_pool(client, world)
    yes, no = (o["id"] for o in pool["outcomes"])
    for n, viewer in enumerate(world.viewers):
        await bet(client, viewer, pool["id"], yes if n < 2 else no, 1_000, f"s{n}")
    await client.post(f"/api/v1/pools/{pool['id']}/lock", headers=world.owner.auth)
    await client.post(
        f"/api/v1/pools/{pool['id']}/resolve", json={"outcome_id": yes}, headers=world.owner.auth
    )

    async def settle() -> bool:
        async with unit_of_work(resources) as session:
            return await pool_settlement.settle(session, resources, pool["id"])

    results = await asyncio.gather(*(settle() for _ in range(5)))
    assert sorted(results) == [False, False, False, False, True]
    for viewer in world.viewers[:2]:
        assert await points_balance(client, viewer, world.currency) == 11_000
    for viewer in world.viewers[2:]:
        assert await points_balance(client, viewer, world.currency) == 9_000


async def test_postgresql_keeps_a_paid_pools_escrow_at_zero(
    client: Client, world: World, resources: Resources
) -> None:
    pool = await open_pool(client, world)
    yes, no = (o["id"] for o in pool["outcomes"])
    await bet(client, world.viewers[0], pool["id"], yes, 1_000, "e0")
    await bet(client, world.viewers[1], pool["id"], no, 1_000, "e1")
    await client.post(f"/api/v1/pools/{pool['id']}/lock", headers=world.owner.auth)
    await client.post(
        f"/api/v1/pools/{pool['id']}/resolve", json={"outcome_id": yes}, headers=world.owner.auth
    )
    # Marked settled with the stakes still in escrow, by hand: refused.
    with pytest.raises(DBAPIError, match="its escrow still holds 2000"):
        async with unit_of_work(resources) as session:
            await session.execute(
                text("UPDATE pools SET status = 'settled' WHERE id = :p"), {"p": pool["id"]}
            )
    async with unit_of_work(resources) as session:
        assert await pool_settlement.settle(session, resources, pool["id"])
    # Once paid, its escrow takes no more money, whoever writes it.
    async with unit_of_work(resources) as session:
        escrow = await session.scalar(
            text("SELECT escrow_account_id FROM pools WHERE id = :p"), {"p": pool["id"]}
        )
        house = await ledger_service.system_account(session, AccountKind.house, world.currency)
    with pytest.raises(DBAPIError, match="its escrow takes no more entries"):
        async with unit_of_work(resources) as session:
            await ledger_service.transfer(
                session,
                house,
                int(escrow),
                1,
                world.currency,
                key="late",
                kind=TransactionKind.transfer,
            )
    async with unit_of_work(resources) as session:
        assert await ledger_service.balance(session, int(escrow)) == 0
        assert await ledger_service.check(session) == []


async def test_no_bet_is_accepted_after_the_lock_commits(
    client: Client, world: World, resources: Resources
) -> None:
    pool = await open_pool(client, world)
    yes = pool["outcomes"][0]["id"]

    async def keep_betting(viewer_index: int) -> list[int]:
        codes = []
        for n in range(15):
            response = await bet(client, world.viewers[viewer_index], pool["id"], yes, 10, f"r{n}")
            codes.append(response.status_code)
        return codes

    async def lock_soon() -> int:
        await asyncio.sleep(0.05)
        response = await client.post(f"/api/v1/pools/{pool['id']}/lock", headers=world.owner.auth)
        return response.status_code

    codes_by_bettor, lock_status = await asyncio.gather(
        asyncio.gather(*(keep_betting(i) for i in range(4))), lock_soon()
    )
    assert lock_status == 200
    accepted = sum(codes.count(201) for codes in codes_by_bettor)
    refused = sum(codes.count(409) for codes in codes_by_bettor)
    assert accepted + refused == 60
    assert refused > 0
    async with unit_of_work(resources) as session:
        staked = await session.scalar(
            text("SELECT coalesce(sum(amount), 0) FROM bets WHERE pool_id = :p"), {"p": pool["id"]}
        )
    # What the lock saw inside its own transaction is all there will ever be.
    final = (await client.get(f"/api/v1/pools/{pool['id']}")).json()
    assert staked == accepted * 10 == final["total"]
    marker = await resources.redis.hget(f"pool:{pool['id']}:totals", "final")  # type: ignore[misc]
    assert marker == "1"


async def test_pools_lock_at_their_close_time_and_stale_ones_are_refunded(
    client: Client, world: World, resources: Resources, run_jobs: RunJobs
) -> None:
    due = await open_pool(client, world)
    stale = await open_pool(client, world)
    await bet(client, world.viewers[0], stale["id"], stale["outcomes"][0]["id"], 700, "st")
    async with unit_of_work(resources) as session:
        await session.execute(
            text("UPDATE pools SET closes_at = now() - interval '1 second' WHERE id = :id"),
            {"id": due["id"]},
        )
    refused = await bet(client, world.viewers[1], due["id"], due["outcomes"][0]["id"], 10, "late")
    assert refused.json()["error"]["code"] == "pool_not_open"  # even before the cron runs
    await resources.jobs.enqueue_job("pool.lock_due")
    await run_jobs()
    assert (await client.get(f"/api/v1/pools/{due['id']}")).json()["status"] == "locked"

    await client.post(f"/api/v1/pools/{stale['id']}/lock", headers=world.owner.auth)
    async with unit_of_work(resources) as session:
        await session.execute(
            text("UPDATE pools SET locked_at = now() - interval '25 hours' WHERE id = :id"),
            {"id": stale["id"]},
        )
    await resources.jobs.enqueue_job("pool.cancel_stale")
    await run_jobs()
    assert (await client.get(f"/api/v1/pools/{stale['id']}")).json()["status"] == "refunded"
    assert await points_balance(client, world.viewers[0], world.currency) == 10_000


async def test_a_worker_killed_mid_settlement_pays_everyone_exactly_once_after_the_sweep(
    resources: Resources, settings: Settings, run_jobs: RunJobs
) -> None:
    async with unit_of_work(resources) as session:
        owner = await create_user(session, settings)
        channel = await create_channel(session, owner.id)
    pool_id, escrow, bettors = await _big_resolved_pool(resources, owner.id, channel, 20_000)

    worker = worker_process(settings)
    try:
        await resources.jobs.enqueue_job("pool.settle", pool_id, _job_id=f"pool.settle:{pool_id}")
        assert await _settlement_in_progress(resources, pool_id)
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()

    async with unit_of_work(resources) as session:
        status = await session.scalar(
            text("SELECT status FROM pools WHERE id = :p"), {"p": pool_id}
        )
        paid = await session.scalar(
            text("SELECT count(*) FROM ledger_transactions WHERE kind = 'payout'")
        )
    assert (status, paid) == ("resolved", 0)  # the killed transaction left nothing behind

    # The sweep (a cron every 5 s in production) until the pool is paid: the killed worker's
    # backend may hold the pool's rows until PostgreSQL notices its client is gone.
    for _ in range(120):
        await resources.jobs.enqueue_job("pool.sweep")
        await run_jobs()
        async with unit_of_work(resources) as session:
            status = await session.scalar(
                text("SELECT status FROM pools WHERE id = :p"), {"p": pool_id}
            )
        if status == PoolStatus.settled.value:
            break
        await asyncio.sleep(0.5)

    async with unit_of_work(resources) as session:
        payouts = await session.execute(
            text(
                "SELECT memo->>'bet_id' AS bet, count(*) AS n FROM ledger_transactions"
                " WHERE kind = 'payout' GROUP BY 1"
            )
        )
        per_bet = Counter(int(r.n) for r in payouts)
        assert await ledger_service.balance(session, escrow) == 0
    assert status == PoolStatus.settled.value
    assert per_bet == Counter({1: bettors // 2})  # every winner paid, exactly once


async def _big_resolved_pool(
    resources: Resources, owner_id: int, channel: Channel, bets: int
) -> tuple[int, int, int]:
    """A resolved points pool with ``bets`` positions, written in bulk."""
    admin = Principal(owner_id, Role.admin)
    async with unit_of_work(resources) as session:
        pool = await create_pool(
            session, resources, channel, title="big", outcomes=["a", "b"], actor=admin
        )
    currency = pool.currency
    async with unit_of_work(resources) as session:
        escrow = await session.scalar(
            text("SELECT escrow_account_id FROM pools WHERE id = :p"), {"p": pool.id}
        )
        await _bulk_bets(
            session, pool.id, channel.id, currency, [o.id for o in pool.outcomes], bets
        )
    async with unit_of_work(resources) as session:
        await pool_lifecycle.lock(session, resources, admin, pool.id)
        await pool_lifecycle.resolve(session, resources, admin, pool.id, pool.outcomes[0].id)
    await resources.jobs.delete(f"arq:job:pool.settle:{pool.id}")
    await resources.jobs.zrem("arq:queue", f"pool.settle:{pool.id}")
    return pool.id, int(escrow), bets


async def _bulk_bets(
    session: AsyncSession,
    pool_id: int,
    channel_id: int,
    currency: str,
    outcomes: list[int],
    count: int,
) -> None:
    """Users, funded wallets and positions, written set-based under the ledger's own rules
    (balanced transactions, wallet balances kept by the trigger)."""
    tag = f"bulk{pool_id}-"
    await session.execute(
        text(
            "INSERT INTO users (email, display_name)"
            " SELECT :tag || g || '@example.com', 'bulk' || g FROM generate_series(1, :n) g"
        ),
        {"n": count, "tag": tag},
    )
    await session.execute(
        text(
            "CREATE TEMP TABLE bulk AS SELECT u.id AS user_id,"
            " row_number() OVER (ORDER BY u.id) AS n,"
            " nextval('ledger_transactions_id_seq') AS grant_tx,"
            " nextval('ledger_transactions_id_seq') AS bet_tx"
            " FROM users u WHERE u.email LIKE :tag || '%'"
        ),
        {"tag": tag},
    )
    await session.execute(
        text(
            "INSERT INTO accounts (kind, currency, user_id, balance)"
            " SELECT 'user_wallet', :cur, user_id, 0 FROM bulk"
        ),
        {"cur": currency},
    )
    await session.execute(text("ALTER TABLE bulk ADD COLUMN wallet bigint"))
    await session.execute(
        text(
            "UPDATE bulk SET wallet = a.id FROM accounts a"
            " WHERE a.user_id = bulk.user_id AND a.currency = :cur"
        ),
        {"cur": currency},
    )
    issuer = await ledger_service.system_account(
        session, AccountKind.points_issuer, currency, ref_id=channel_id
    )
    escrow = await session.scalar(
        text("SELECT escrow_account_id FROM pools WHERE id = :p"), {"p": pool_id}
    )
    for kind, column, source, target in (
        ("grant", "grant_tx", "CAST(:issuer AS bigint)", "b.wallet"),
        ("bet", "bet_tx", "b.wallet", "CAST(:escrow AS bigint)"),
    ):
        await session.execute(
            text(
                "INSERT INTO ledger_transactions (id, idempotency_key, kind, fingerprint)"
                f" SELECT {column}, :tag || :kind || n, CAST(:kind AS transaction_kind), '\\x00'"
                " FROM bulk"
            ),
            {"tag": tag, "kind": kind},
        )
        await session.execute(
            text(
                "INSERT INTO ledger_entries (transaction_id, account_id, currency, amount)"
                f" SELECT b.{column}, line.account, :cur, line.amount FROM bulk b"
                f" CROSS JOIN LATERAL (VALUES ({source}, -100), ({target}, 100))"
                " AS line(account, amount)"
            ),
            {"cur": currency, "issuer": issuer, "escrow": escrow},
        )
    await session.execute(
        text(
            "INSERT INTO bets (pool_id, user_id, outcome_id, wallet_account_id, amount)"
            " SELECT :pool, user_id, (CAST(:outcomes AS bigint[]))[1 + n % :k], wallet, 100"
            " FROM bulk"
        ),
        {"pool": pool_id, "outcomes": outcomes, "k": len(outcomes)},
    )
    await session.execute(text("DROP TABLE bulk"))


async def _settlement_in_progress(resources: Resources, pool_id: int) -> bool:
    """Wait until a worker holds the pool's row (its settlement transaction is running). A
    worker process takes seconds to start on a busy machine (its imports alone)."""
    for _ in range(3_000):
        async with unit_of_work(resources) as session:
            running = await session.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE state = 'active'"
                    " AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL"
                    " AND (query LIKE '%INTO payouts%' OR query LIKE '%FROM payouts p%')"
                )
            )
        if running:
            return True
        await asyncio.sleep(0.01)
    return False
