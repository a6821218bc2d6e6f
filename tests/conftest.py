"""Test fixtures: real PostgreSQL and Redis (embedded, started once per run), a migrated template
database cloned for every test, the app with its lifespan, and a real server on loopback."""

import os

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
    }
)

import asyncio
import itertools
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
import uvicorn
from litestar import Litestar
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from app.asgi import create_app
from app.kit.embedded import EmbeddedPostgres, EmbeddedRedis, free_port
from app.kit.http import resources_of
from app.kit.migrate import PROJECT_ROOT, upgrade
from app.kit.resources import Resources, open_resources
from app.settings import Settings

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
def http_app(settings: Settings) -> Litestar:
    app = create_app(settings).other_asgi_app
    assert isinstance(app, Litestar)
    return app


@pytest.fixture
async def client(http_app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=http_app, base_url="http://testserver.local") as test_client:
        yield test_client


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


@pytest.fixture
async def live_server(settings: Settings) -> AsyncIterator[LiveServer]:
    """The whole web process (HTTP and Socket.IO) served by uvicorn on a loopback port."""
    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=1,
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    http = app.other_asgi_app
    assert isinstance(http, Litestar)
    yield LiveServer(f"http://127.0.0.1:{port}", resources_of(http.state))
    server.should_exit = True
    await task
