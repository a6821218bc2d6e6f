"""Notification tests: the shared world, the fake FCM, and pushes on (the real firebase-admin
send path pointed at the fake)."""

import asyncio
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from app.kit.resources import Resources
from app.kit.uow import unit_of_work
from app.settings import Settings
from integrations.firebase.client import FcmClient
from tests.conftest import worker_process
from tests.fakes.fcm import FakeFcm, StaticCredential, service_account
from tests.worlds import world

__all__ = ["world"]


@pytest.fixture
async def fake_fcm() -> AsyncIterator[FakeFcm]:
    async with FakeFcm() as fake:
        yield fake


@pytest.fixture
async def push(resources: Resources, fake_fcm: FakeFcm) -> AsyncIterator[FcmClient]:
    """Pushes on in the test's resources (those its jobs run with), to the fake FCM."""
    client = FcmClient(StaticCredential(), project_id=fake_fcm.project, endpoint=fake_fcm.url)
    resources.push = client
    yield client
    resources.push = None
    await client.aclose()


async def add_device(resources: Resources, user_id: int, token: str, platform: str = "web") -> int:
    async with unit_of_work(resources) as session:
        result = await session.execute(
            text("INSERT INTO devices (user_id, token, platform) VALUES (:u, :t, :p) RETURNING id"),
            {"u": user_id, "t": token, "p": platform},
        )
        return int(result.scalar_one())


async def crowd(resources: Resources, channel_id: int, size: int, prefix: str) -> list[str]:
    """``size`` members of the channel, each with one device; their tokens, by user id."""
    async with unit_of_work(resources) as session:
        await session.execute(
            text(
                "WITH made AS ("
                " INSERT INTO users (email, display_name)"
                " SELECT :prefix || n || '@example.com', 'Member ' || n"
                " FROM generate_series(1, :size) AS n RETURNING id"
                "), joined AS ("
                " INSERT INTO channel_members (channel_id, user_id)"
                " SELECT :channel, id FROM made RETURNING user_id"
                ") INSERT INTO devices (user_id, token, platform)"
                " SELECT user_id, :prefix || '-token-' || user_id, 'android' FROM joined"
            ),
            {"prefix": prefix, "size": size, "channel": channel_id},
        )
        result = await session.execute(
            text("SELECT token FROM devices WHERE token LIKE :p ORDER BY user_id"),
            {"p": f"{prefix}-token-%"},
        )
        return list(result.scalars())


async def rows(resources: Resources, sql: str, **params: Any) -> list[Any]:
    async with unit_of_work(resources) as session:
        return list((await session.execute(text(sql), params)).all())


async def kill_mid_push(
    settings: Settings,
    fake_fcm: FakeFcm,
    tmp_path: Path,
    hold_after: int,
    enqueue: Callable[[], Awaitable[Any]],
) -> int:
    """A real worker process (its own firebase-admin app, from a service account key whose
    token endpoint is the fake's) runs what ``enqueue`` queues and is killed while FCM holds
    what it sends past the first ``hold_after`` messages; then FCM takes the held ones after
    all (they reached their devices). Returns how many were held."""
    fake_fcm.hold_after(hold_after)
    key = service_account(fake_fcm.url, fake_fcm.project, tmp_path / "key.json")
    worker = worker_process(
        settings,
        STREAMPOOLS_FIREBASE_CREDENTIALS=str(key),
        STREAMPOOLS_FCM_API_BASE=fake_fcm.url,
    )
    try:
        await enqueue()
        await fake_fcm.held(1)
        await asyncio.sleep(0.5)  # as many as the worker's connections allow reach FCM
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
    held = fake_fcm.holding
    assert held > 0
    fake_fcm.release()
    async with asyncio.timeout(15):
        while len(fake_fcm.messages) < hold_after + held:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    return held
