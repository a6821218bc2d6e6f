"""Two web processes sharing one Redis: what happens on one reaches clients of the other, and
what the worker emits reaches both."""

import os
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import httpx
import pytest

from app.cli import web_command
from app.kit.embedded import free_port
from app.kit.migrate import PROJECT_ROOT
from app.settings import Settings
from tests.conftest import RunJobs
from tests.realtime.conftest import Connect
from tests.worlds import World, open_pool


@contextmanager
def web_process(settings: Settings) -> Iterator[str]:
    """A real web process, started the way production starts it."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "STREAMPOOLS_LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        web_command("127.0.0.1", port, processes=1), env=env, cwd=PROJECT_ROOT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, "the web process exited"
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the web process did not get ready"
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
async def two_web_processes(settings: Settings) -> AsyncIterator[tuple[str, str]]:
    with web_process(settings) as first, web_process(settings) as second:
        yield first, second


async def test_bets_chat_and_worker_events_cross_web_processes(
    client: httpx.AsyncClient,
    world: World,
    connect: Connect,
    two_web_processes: tuple[str, str],
    run_jobs: RunJobs,
) -> None:
    first, second = two_web_processes
    pool = await open_pool(client, world)
    here = await connect(world.viewers[0], url=first)
    there = await connect(world.viewers[1], url=second)
    for socket in (here, there):
        assert (await socket.call("channel:join", {"channel": world.channel_id}))["ok"] is True

    bet = {
        "pool_id": pool["id"],
        "outcome_id": pool["outcomes"][0]["id"],
        "amount": 700,
        "idempotency_key": "cross",
    }
    assert (await here.call("bet:place", bet))["ok"] is True
    assert (await there.wait_for("pool:updated", lambda u: u["total"] == 700))["bettors"] == 1
    said = await here.call("chat:send", {"channel": world.channel_id, "text": "hello there"})
    assert await there.wait_for("chat:message") == said["message"]

    # The worker (this test process) settles the pool; its emits reach both web processes.
    owner = world.owner.auth
    await client.post(f"/api/v1/pools/{pool['id']}/lock", headers=owner)
    await client.post(f"/api/v1/pools/{pool['id']}/cancel", headers=owner)
    await run_jobs()
    for socket in (here, there):
        assert (await socket.wait_for("pool:refunded"))["status"] == "refunded"
    assert await here.wait_for("wallet:updated", lambda w: w["balance"] == 10_000)
    assert (await here.wait_for("notification"))["kind"] == "pool.refunded"
