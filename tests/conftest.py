"""Test fixtures: real PostgreSQL and Redis (embedded, started once per run), a migrated template
database cloned for every test, the app with its lifespan, and a real server on loopback."""

import os

from cryptography.fernet import Fernet

# Settings are read from the environment: set ours before any app module is imported.
os.environ.update(
    {
        "STREAMPOOLS_ENV": "test",
        "STREAMPOOLS_JWT_SECRET": "test-secret-test-secret-test-secret-0123",
        # OWASP's minimum argon2id parameters: the same algorithm, cheaper for the suite.
        "STREAMPOOLS_ARGON2_TIME_COST": "2",
        "STREAMPOOLS_ARGON2_MEMORY_KIB": "19456",
        "STREAMPOOLS_ARGON2_PARALLELISM": "1",
        "STREAMPOOLS_LOG_LEVEL": "WARNING",
        # A fresh key each run: platform tokens are encrypted as in production.
        "STREAMPOOLS_TOKEN_KEYS": Fernet.generate_key().decode(),
    }
)

import asyncio
import gc
import itertools
import shutil
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import uvicorn
from arq.constants import default_queue_name, in_progress_key_prefix, job_key_prefix
from arq.cron import CronJob
from arq.utils import timestamp_ms
from arq.worker import Worker
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from litestar import Litestar
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

from app.asgi import create_app
from app.kit.embedded import EmbeddedPostgres, EmbeddedRedis, free_port
from app.kit.http import resources_of
from app.kit.jobs import deserialize, redis_settings, serialize
from app.kit.migrate import PROJECT_ROOT, upgrade
from app.kit.resources import Resources, open_resources
from app.ledger.service import ledger_service
from app.models.base import Base
from app.settings import Settings
from tests.fakes.kick import FakeKick
from tests.fakes.kick.signing import new_key
from tests.fakes.twitch import FakeTwitch
from tests.fakes.youtube import FakeYouTube
from workers.settings import FUNCTIONS

TEMPLATE_DATABASE = "streampools_template"
_database_numbers = itertools.count(1)


@dataclass(frozen=True)
class Servers:
    postgres: EmbeddedPostgres
    redis: EmbeddedRedis


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    """PostgreSQL and Redis for the whole run, in a throw-away folder, on free ports."""
    base = PROJECT_ROOT / ".data"
    base.mkdir(exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="test-", dir=base))
    postgres = EmbeddedPostgres(root / "postgres", free_port(), fast_unsafe=True).start()
    redis = EmbeddedRedis(root / "redis", free_port(), persist=False).start()
    try:
        postgres.create_database(TEMPLATE_DATABASE)
        upgrade(postgres.url(TEMPLATE_DATABASE))
        yield Servers(postgres, redis)
    finally:
        redis.stop()
        postgres.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
async def admin_connection(servers: Servers) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(servers.postgres.dsn("postgres"))
    yield connection
    await connection.close()


@pytest.fixture
async def database_url(
    servers: Servers, admin_connection: asyncpg.Connection
) -> AsyncIterator[str]:
    """A fresh database cloned from the migrated template: tests never see each other's data."""
    name = f"test_{os.getpid()}_{next(_database_numbers)}"
    await admin_connection.execute(f'CREATE DATABASE "{name}" TEMPLATE {TEMPLATE_DATABASE}')
    yield servers.postgres.url(name)
    await admin_connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


async def ledger_violations(database_url: str) -> list[str]:
    """Every broken ledger invariant in a test database, in words (what `streampools ledger
    check` prints); one cheap query when no money ever moved in it."""
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            moved = await connection.exec_driver_sql(
                "SELECT EXISTS (SELECT 1 FROM ledger_transactions)"
            )
            if not moved.scalar_one():
                return []
            async with AsyncSession(bind=connection) as session:
                return await ledger_service.check(session)
    finally:
        await engine.dispose()


@pytest.fixture
async def ledger_checked(database_url: str) -> AsyncIterator[None]:
    """Fails the test, naming each violation, if it left the ledger broken."""
    yield
    if violations := await ledger_violations(database_url):
        pytest.fail(
            "the ledger's invariants broke:\n" + "\n".join(f"  - {v}" for v in violations),
            pytrace=False,
        )


@pytest.fixture(autouse=True)
def sound_ledger(request: pytest.FixtureRequest) -> None:
    """After every test with a database, the ledger's invariants hold. Set up before the
    test's other fixtures, the check is torn down after them: money moved by the test, its
    live server or its workers is checked once they have all stopped. A test that breaks the
    ledger on purpose says so with `@pytest.mark.ledger_violations_expected`."""
    if "database_url" in request.fixturenames and not request.node.get_closest_marker(
        "ledger_violations_expected"
    ):
        request.getfixturevalue("ledger_checked")


def pytest_collection_finish(session: pytest.Session) -> None:
    """Moves what importing the platform and the tests made (modules, classes, the ORM's
    mappings: about a quarter of a million objects that live as long as the process) out of the
    garbage collector's sight, so that its full collections, which stop the one event loop every
    test shares, walk only what the tests themselves keep."""
    gc.collect()
    gc.freeze()


def pytest_runtest_logfinish(nodeid: str, location: tuple[str, int | None, str]) -> None:
    """Drops the ORM's statement caches once a test is over.

    SQLAlchemy caches each mapper's compiled flush statements per dialect, and every test's
    engines bring a dialect of their own: kept, the finished tests' statements (tens of thousands
    of objects per hundred tests) stay in the one test process, and each full garbage collection
    walks them while the event loop every test shares stands still. A process of the platform
    has one dialect, so its caches stay small."""
    for mapper in Base.registry.mappers:
        mapper._compiled_cache.clear()


@pytest.fixture
async def redis_url(servers: Servers) -> str:
    client = Redis.from_url(servers.redis.url)
    await client.flushall()
    await client.aclose()
    return servers.redis.url


@pytest.fixture
def settings(database_url: str, redis_url: str) -> Settings:
    return Settings(database_url=database_url, redis_url=redis_url)


@pytest.fixture
async def client(live_server: "LiveServer") -> AsyncIterator[httpx.AsyncClient]:
    """Real HTTP to the app on loopback (one event loop with the test, fakes and workers).
    Its reads ask for the state at the source (`Cache-Control: no-cache`): what a test checks
    right after a job is the database's, not a process's copy kept in step by events a moment
    later (tests/pool/test_public_reads.py reads the copies)."""
    async with httpx.AsyncClient(
        base_url=live_server.url, timeout=30, headers={"Cache-Control": "no-cache"}
    ) as http:
        yield http


@pytest.fixture
async def resources(settings: Settings) -> AsyncIterator[Resources]:
    """Connections of the test's own (the app serves requests on its own event loop)."""
    opened = await open_resources(settings)
    yield opened
    await opened.close()


@dataclass(frozen=True)
class LiveServer:
    url: str
    resources: Resources


@asynccontextmanager
async def serve(app: Any, port: int | None = None) -> AsyncIterator[str]:
    """Serve an ASGI app with uvicorn on a loopback port; yields its base URL."""
    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="auto",
            timeout_graceful_shutdown=1,
            ws="websockets-sansio",
            ws_per_message_deflate=False,
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def live_server(settings: Settings) -> AsyncIterator[LiveServer]:
    """The whole web process (HTTP and Socket.IO) served by uvicorn on a loopback port."""
    app = create_app(settings)
    async with serve(app) as url:
        http = app.other_asgi_app
        assert isinstance(http, Litestar)
        yield LiveServer(url, resources_of(http.state))


@pytest.fixture
async def fake_twitch() -> AsyncIterator[FakeTwitch]:
    """The fake Twitch (OAuth, Helix) on a loopback port, for the tests that talk to Twitch."""
    async with FakeTwitch() as fake:
        yield fake


@pytest.fixture(scope="session")
def kick_key() -> RSAPrivateKey:
    """The key pair Kick signs webhooks with, made once per run (making one takes a while)."""
    return new_key()


@pytest.fixture
async def fake_kick(kick_key: RSAPrivateKey) -> AsyncIterator[FakeKick]:
    """The fake Kick (OAuth, the public API, signed deliveries) on a loopback port."""
    async with FakeKick(key=kick_key) as fake:
        yield fake


@pytest.fixture
async def fake_youtube() -> AsyncIterator[FakeYouTube]:
    """The fake Google OAuth and YouTube Data API on a loopback port."""
    async with FakeYouTube() as fake:
        yield fake


def worker_process(settings: Settings, **env: str) -> "subprocess.Popen[bytes]":
    """A real worker process (``python -m arq``, as production starts it) on the test's
    PostgreSQL and Redis, with ``env`` added to its environment; the caller stops it."""
    return subprocess.Popen(
        [sys.executable, "-m", "arq", "workers.settings.WorkerSettings"],
        env={
            **os.environ,
            "DATABASE_URL": settings.database_url,
            "REDIS_URL": settings.redis_url,
            "STREAMPOOLS_LOG_LEVEL": "WARNING",
            **env,
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@asynccontextmanager
async def running_worker(
    resources: Resources, cron_jobs: Sequence[CronJob] = ()
) -> AsyncIterator[None]:
    """A real arq worker running the platform's jobs as they come (and ``cron_jobs``). On the
    way out: its loop stops, each job it is in the middle of is cut off (as a crash would: the
    platform's jobs are idempotent), then its connections close."""
    worker = Worker(
        functions=FUNCTIONS,
        cron_jobs=list(cron_jobs),
        redis_settings=redis_settings(resources.settings.redis_url),
        ctx={"resources": resources},
        poll_delay=0.05,
        handle_signals=False,
        job_serializer=serialize,
        job_deserializer=deserialize,
        keep_result=0,
    )
    running = asyncio.create_task(worker.main())
    try:
        yield
    finally:
        running.cancel()
        jobs = list(worker.tasks.values())
        for job in jobs:
            job.cancel()
        await asyncio.gather(running, *jobs, return_exceptions=True)
        worker.tasks.clear()
        await worker.close()


RunJobs = Callable[[], Awaitable[int]]


async def _due(resources: Resources) -> tuple[int, dict[bytes, float]]:
    """How many jobs are due now and free to run, and the due ones a (dead) worker still holds
    (with their scores): arq gives those back only when their timeout runs out."""
    # arq scores a job with its enqueue time *rounded* to the millisecond: a job enqueued an
    # instant ago may carry a score a fraction of a millisecond ahead of time.time().
    due_by = timestamp_ms() + 1
    entries = await resources.jobs.zrangebyscore(default_queue_name, 0, due_by, withscores=True)
    held = {
        job_id: score
        for job_id, score in entries
        if await resources.jobs.exists(in_progress_key_prefix + job_id.decode())
    }
    return len(entries) - len(held), held


@pytest.fixture
def run_jobs(resources: Resources) -> RunJobs:
    """Run the jobs that are due in a real arq worker (burst mode) until none is due; jobs
    deferred into the future (retries with backoff) stay queued."""

    async def run() -> int:
        done = 0
        while True:
            due, held = await _due(resources)
            if not due:
                return done
            # A burst worker reads only as many queue entries as it may run, oldest first: a
            # held one among them would take a free job's place. Set aside while it runs.
            if held:
                await resources.jobs.zrem(default_queue_name, *held)
            worker = Worker(
                functions=FUNCTIONS,
                redis_settings=redis_settings(resources.settings.redis_url),
                ctx={"resources": resources},
                burst=True,
                max_burst_jobs=due,
                poll_delay=0.01,
                handle_signals=False,
                job_serializer=serialize,
                job_deserializer=deserialize,
                keep_result=0,
            )
            try:
                await worker.main()
            finally:
                await worker.close()
                for job_id, score in held.items():  # back, unless finished meanwhile
                    if await resources.jobs.exists(job_key_prefix + job_id.decode()):
                        await resources.jobs.zadd(default_queue_name, {job_id: score})
            done += worker.jobs_complete + worker.jobs_failed + worker.jobs_retried

    return run
