"""Settlement benchmark: settle a pool of 100,000 bets across 5 outcomes through the service,
and beside it the very same SQL statements replayed directly through psql on an identical copy
of the database. Target: at most 2 s, and at most 1.25x the direct SQL."""

import asyncio
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event, text

from app.auth.tokens import Principal
from app.kit.embedded import EmbeddedPostgres, EmbeddedRedis, _postgres_bin, free_port
from app.kit.migrate import PROJECT_ROOT, upgrade
from app.kit.resources import open_resources
from app.kit.uow import unit_of_work
from app.models.user import Role
from app.pool.lifecycle import pool_lifecycle
from app.pool.settlement import pool_settlement
from app.settings import Settings
from tests.bench import report
from tests.factories import create_channel, create_pool, create_user
from tests.pool.test_settlement import _bulk_bets

BETS = 100_000
OUTCOMES = 5


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


async def seed(settings: Settings) -> int:
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
            await _bulk_bets(
                session, pool.id, channel.id, pool.currency, [o.id for o in pool.outcomes], BETS
            )
        async with unit_of_work(resources) as session:
            await pool_lifecycle.lock(session, resources, admin, pool.id)
            await pool_lifecycle.resolve(session, resources, admin, pool.id, pool.outcomes[0].id)
        return pool.id
    finally:
        await resources.close()


async def settle_through_service(settings: Settings, pool_id: int) -> tuple[float, list[str]]:
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
        return time.perf_counter() - started, statements
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


def main() -> None:
    (PROJECT_ROOT / ".data").mkdir(exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="bench-", dir=PROJECT_ROOT / ".data"))
    postgres = EmbeddedPostgres(root / "postgres", free_port(), fast_unsafe=True).start()
    redis = EmbeddedRedis(root / "redis", free_port(), persist=False).start()
    try:
        postgres.create_database("bench_seed")
        upgrade(postgres.url("bench_seed"))
        print(f"seeding a resolved pool of {BETS:,} bets across {OUTCOMES} outcomes ...")
        seed_settings = Settings(database_url=postgres.url("bench_seed"), redis_url=redis.url)
        pool_id = asyncio.run(seed(seed_settings))
        postgres.psql("postgres", "CHECKPOINT")
        for copy in ("bench_service", "bench_psql"):
            postgres.psql("postgres", f"CREATE DATABASE {copy} TEMPLATE bench_seed")
        service_settings = Settings(database_url=postgres.url("bench_service"), redis_url=redis.url)
        service_seconds, statements = asyncio.run(settle_through_service(service_settings, pool_id))
        psql_seconds = settle_through_psql(postgres, "bench_psql", statements)
        ratio = service_seconds / psql_seconds
        print(
            f"settle {BETS:,} bets through the service : {service_seconds:6.3f} s  (target <= 2 s)"
        )
        print(f"the same SQL directly through psql      : {psql_seconds:6.3f} s")
        print(f"ratio                                    : {ratio:6.2f}x  (target <= 1.25x)")
        report.verdict("settled within 2 s", service_seconds <= 2, f"{service_seconds:.3f} s")
        report.verdict("within 1.25x of the same SQL through psql", ratio <= 1.25, f"{ratio:.2f}x")
    finally:
        redis.stop()
        postgres.stop()
        shutil.rmtree(root, ignore_errors=True)
