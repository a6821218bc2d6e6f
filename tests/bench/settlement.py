"""Settlement benchmark: settle a resolved pool of 100,000 bets, then one of 1,000,000 (5
outcomes, a fifth of the bets win), through the service, each beside the very same SQL
statements replayed directly through psql on an identical copy of the database. PostgreSQL runs
with `make run`'s settings. Targets: 100,000 bets within 1.5 s and 1,000,000 within 15 s (a cost
linear in bets: the time per bet is printed for both), each within 1.25x of the direct SQL.

The settlement is the money's one transaction; each bettor's result row is written after it
commits by the results job, timed here too (on the same pool, right after, with its own SQL
through psql beside it) so that nothing is left out; it has no target of its own."""

import asyncio
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.tokens import Principal
from app.kit.embedded import EmbeddedPostgres, EmbeddedRedis, _postgres_bin, free_port
from app.kit.migrate import PROJECT_ROOT, upgrade
from app.kit.resources import open_resources
from app.kit.uow import unit_of_work
from app.ledger.service import ledger_service
from app.models.ledger import AccountKind
from app.models.user import Role
from app.pool import tasks as pool_tasks
from app.pool.lifecycle import pool_lifecycle
from app.pool.settlement import pool_settlement
from app.settings import Settings
from tests.bench import report
from tests.factories import create_channel, create_pool, create_user

OUTCOMES = 5
STAKE = 100
#: Bets in a pool → the most seconds its settlement may take.
TARGETS = {100_000: 1.5, 1_000_000: 15.0}
RATIO_TARGET = 1.25


def literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, bytes):
        return f"'\\x{value.hex()}'::bytea"
    if isinstance(value, list):
        return "ARRAY[" + ",".join(literal(v) for v in value) + "]"
    return "'" + str(value).replace("'", "''") + "'"


async def seed(settings: Settings, bets: int) -> int:
    resources = await open_resources(settings)
    try:
        async with unit_of_work(resources) as session:
            owner = await create_user(session, settings)
            channel = await create_channel(session, owner.id)
        admin = Principal(owner.id, Role.admin)
        async with unit_of_work(resources) as session:
            pool = await create_pool(
                session,
                resources,
                channel,
                title="bench",
                outcomes=[f"o{n}" for n in range(OUTCOMES)],
                actor=admin,
            )
        async with unit_of_work(resources) as session:
            issuer = await ledger_service.system_account(
                session, AccountKind.points_issuer, pool.currency, ref_id=channel.id
            )
            escrow = int(
                await session.scalar(
                    text("SELECT escrow_account_id FROM pools WHERE id = :p"), {"p": pool.id}
                )
            )
        async with unit_of_work(resources) as session:
            await _bulk_bets(
                session,
                pool.id,
                escrow,
                issuer,
                pool.currency,
                [o.id for o in pool.outcomes],
                bets,
            )
        async with unit_of_work(resources) as session:
            await pool_lifecycle.lock(session, resources, admin, pool.id)
            await pool_lifecycle.resolve(session, resources, admin, pool.id, pool.outcomes[0].id)
        return pool.id
    finally:
        await resources.close()


async def _bulk_bets(
    session: AsyncSession,
    pool_id: int,
    escrow: int,
    issuer: int,
    currency: str,
    outcomes: list[int],
    count: int,
) -> None:
    """``count`` users, each granted ``STAKE`` points and staking them all, as a handful of
    set-based statements so that a million take seconds. Only this setup writes past the
    ledger's triggers (``session_replication_role = replica``): every transaction is balanced
    by construction and each wallet's cached balance is written as its entries sum (zero)."""
    params = {"n": count, "cur": currency, "issuer": issuer, "escrow": escrow}
    for statement in (
        "SET LOCAL session_replication_role = replica",
        "CREATE TEMP TABLE bulk (n bigint, user_id bigint, wallet bigint,"
        " grant_tx bigint, bet_tx bigint) ON COMMIT DROP",
        "INSERT INTO users (email, display_name)"
        " SELECT 'bench' || g || '@example.com', 'bench' || g FROM generate_series(1, :n) g",
        "WITH wallets AS ("
        "  INSERT INTO accounts (kind, currency, user_id, balance)"
        "  SELECT 'user_wallet', :cur, id, 0 FROM users WHERE email LIKE 'bench%'"
        "  RETURNING id, user_id"
        ") INSERT INTO bulk SELECT row_number() OVER (ORDER BY user_id), user_id, id,"
        " nextval('ledger_transactions_id_seq'), nextval('ledger_transactions_id_seq')"
        " FROM wallets",
        "INSERT INTO ledger_transactions (id, idempotency_key, kind, fingerprint)"
        " SELECT t.id, t.key, CAST(t.kind AS transaction_kind), decode('00', 'hex') FROM bulk"
        " CROSS JOIN LATERAL (VALUES (grant_tx, 'bench:grant:' || n, 'grant'),"
        "  (bet_tx, 'bench:bet:' || n, 'bet')) AS t(id, key, kind)",
        "INSERT INTO ledger_entries (transaction_id, account_id, currency, amount)"
        " SELECT line.tx, line.account, :cur, line.amount FROM bulk b"
        f" CROSS JOIN LATERAL (VALUES (b.grant_tx, CAST(:issuer AS bigint), -{STAKE}),"
        f"  (b.grant_tx, b.wallet, {STAKE}), (b.bet_tx, b.wallet, -{STAKE}),"
        f"  (b.bet_tx, CAST(:escrow AS bigint), {STAKE})) AS line(tx, account, amount)",
    ):
        await session.execute(text(statement), params)
    await session.execute(
        text(
            "INSERT INTO bets (pool_id, user_id, outcome_id, wallet_account_id, amount)"
            " SELECT :pool, user_id, (CAST(:outcomes AS bigint[]))[1 + n % :k], wallet, :stake"
            " FROM bulk ORDER BY n"
        ),
        {"pool": pool_id, "outcomes": outcomes, "k": len(outcomes), "stake": STAKE},
    )


@dataclass
class Phase:
    """One transaction through the service: its time and the SQL it ran."""

    seconds: float
    statements: list[str]


async def settle_through_service(settings: Settings, pool_id: int) -> tuple[Phase, Phase]:
    """The settlement (the money's one transaction), then the job that writes each bettor's
    result to their inbox, as the worker runs them one after the other."""
    resources = await open_resources(settings)
    statements: list[str] = []

    @event.listens_for(resources.engine.sync_engine, "before_cursor_execute")
    def record(
        conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: Any
    ) -> None:
        sql = statement
        for index in range(len(params or ()), 0, -1):
            sql = sql.replace(f"${index}", literal(params[index - 1]))
        statements.append(sql)

    try:
        async with unit_of_work(resources) as session:  # warm the pool's connection
            await session.execute(text("SELECT 1"))
        statements.clear()
        started = time.perf_counter()
        async with unit_of_work(resources) as session:
            assert await pool_settlement.settle(session, resources, pool_id)
        settled = Phase(time.perf_counter() - started, statements[:])
        statements.clear()
        started = time.perf_counter()
        assert await pool_tasks.notify_results({"resources": resources}, pool_id) > 0
        told = Phase(time.perf_counter() - started, statements[:])
        return settled, told
    finally:
        await resources.close()


def settle_through_psql(postgres: EmbeddedPostgres, database: str, statements: list[str]) -> float:
    script = "BEGIN;\n" + ";\n".join(s for s in statements if s.strip()) + ";\nCOMMIT;\n"
    started = time.perf_counter()
    subprocess.run(
        [
            str(_postgres_bin() / "psql"),
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-o",
            "/dev/null",
            "-h",
            "127.0.0.1",
            "-p",
            str(postgres.port),
            "-U",
            "postgres",
            "-d",
            database,
        ],
        input=script,
        text=True,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


@dataclass
class Measured:
    """Seconds through the service and of the same SQL through psql: the settlement, then
    the results job."""

    settle: float
    settle_psql: float
    results: float
    results_psql: float


def measure(postgres: EmbeddedPostgres, redis: EmbeddedRedis, bets: int) -> Measured:
    seed_db, service_db, psql_db = (f"bench_{name}_{bets}" for name in ("seed", "service", "psql"))
    postgres.create_database(seed_db)
    try:
        upgrade(postgres.url(seed_db))
        print(f"seeding a resolved pool of {bets:,} bets across {OUTCOMES} outcomes ...")
        pool_id = asyncio.run(
            seed(Settings(database_url=postgres.url(seed_db), redis_url=redis.url), bets)
        )
        # As autovacuum leaves a table some time after a million inserts.
        postgres.psql(seed_db, "VACUUM ANALYZE")
        for copy in (service_db, psql_db):
            # FILE_COPY: copying a large database through the WAL would take much longer.
            postgres.psql(
                "postgres", f"CREATE DATABASE {copy} TEMPLATE {seed_db} STRATEGY FILE_COPY"
            )
        service_settings = Settings(database_url=postgres.url(service_db), redis_url=redis.url)
        settled, told = asyncio.run(settle_through_service(service_settings, pool_id))
        # Each phase's own SQL, in the same order on the same data: like with like.
        settle_psql = settle_through_psql(postgres, psql_db, settled.statements)
        results_psql = settle_through_psql(postgres, psql_db, told.statements)
        return Measured(settled.seconds, settle_psql, told.seconds, results_psql)
    finally:
        for database in (seed_db, service_db, psql_db):
            postgres.psql("postgres", f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


def main() -> None:
    (PROJECT_ROOT / ".data").mkdir(exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="bench-", dir=PROJECT_ROOT / ".data"))
    postgres = EmbeddedPostgres(root / "postgres", free_port()).start()  # as `make run` does
    redis = EmbeddedRedis(root / "redis", free_port(), persist=False).start()
    try:
        results = {bets: measure(postgres, redis, bets) for bets in TARGETS}
        for bets, m in results.items():
            print(
                f"settle {bets:>9,} bets through the service : {m.settle:7.3f} s"
                f"  {m.settle / bets * 1e6:5.2f} µs/bet  (target <= {TARGETS[bets]:g} s)"
            )
            print(
                f"  the same SQL directly through psql    : {m.settle_psql:7.3f} s"
                f"  {m.settle_psql / bets * 1e6:5.2f} µs/bet"
                f"  ({m.settle / m.settle_psql:.2f}x, target <= {RATIO_TARGET}x)"
            )
            print(
                f"  then the results job (inbox rows)     : {m.results:7.3f} s"
                f"  {m.results / bets * 1e6:5.2f} µs/bet  (after the commit; no target)"
            )
            print(
                f"  the same SQL directly through psql    : {m.results_psql:7.3f} s"
                f"  {m.results_psql / bets * 1e6:5.2f} µs/bet"
                f"  ({m.results / m.results_psql:.2f}x)"
            )
        (small, small_m), (large, large_m) = results.items()
        growth = (large_m.settle / large) / (small_m.settle / small)
        print(f"time per bet at {large:,} over {small:,}     : {growth:7.2f}x  (linear: 1.00x)")
        for bets, m in results.items():
            report.verdict(
                f"{bets:,} bets settled within {TARGETS[bets]:g} s",
                m.settle <= TARGETS[bets],
                f"{m.settle:.3f} s",
            )
            ratio = m.settle / m.settle_psql
            report.verdict(
                f"{bets:,} bets within {RATIO_TARGET}x of the same SQL through psql",
                ratio <= RATIO_TARGET,
                f"{ratio:.2f}x",
            )
    finally:
        redis.stop()
        postgres.stop()
        shutil.rmtree(root, ignore_errors=True)
