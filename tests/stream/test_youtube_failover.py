"""Two real worker processes (``arq workers.settings.WorkerSettings``, as production runs them)
share the YouTube chat pollers: one polls a live chat, the other does not; the first is killed
(SIGKILL, no goodbye) and the second takes the chat over within the lease, from where the first
left off: every chat command runs once, none lost, none twice."""

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from app.kit.migrate import PROJECT_ROOT
from app.kit.resources import Resources
from app.kit.uow import read_session
from app.models.inbox import InboxEvent
from app.models.platform import PlatformAccount
from app.settings import Settings
from app.stream.youtube import POLLER_LEASE, youtube_service
from tests.fakes.youtube import FakeYouTube
from tests.fakes.youtube.server import FORCE_SSL
from tests.stream import twitch as links
from tests.stream.test_youtube import BOT, BROADCASTER

LEASE_SECONDS = 2


@pytest.fixture
def settings(database_url: str, redis_url: str, fake_youtube: FakeYouTube) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        youtube_client_id=fake_youtube.client_id,
        youtube_client_secret=SecretStr(fake_youtube.client_secret),
        google_oauth_base=fake_youtube.url,
        google_accounts_base=fake_youtube.url,
        youtube_api_base=fake_youtube.api_url,
        youtube_poller_lease_seconds=LEASE_SECONDS,
        youtube_min_poll_seconds=0.5,
    )


@contextmanager
def worker_process(settings: Settings, fake: FakeYouTube) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "STREAMPOOLS_LOG_LEVEL": "WARNING",
        "STREAMPOOLS_YOUTUBE_CLIENT_ID": fake.client_id,
        "STREAMPOOLS_YOUTUBE_CLIENT_SECRET": fake.client_secret,
        "STREAMPOOLS_GOOGLE_OAUTH_BASE": fake.url,
        "STREAMPOOLS_GOOGLE_ACCOUNTS_BASE": fake.url,
        "STREAMPOOLS_YOUTUBE_API_BASE": fake.api_url,
        "STREAMPOOLS_YOUTUBE_POLLER_LEASE_SECONDS": str(LEASE_SECONDS),
        "STREAMPOOLS_YOUTUBE_MIN_POLL_SECONDS": "0.5",
    }
    arq = str(Path(sys.executable).parent / "arq")
    process = subprocess.Popen([arq, "workers.settings.WorkerSettings"], env=env, cwd=PROJECT_ROOT)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


async def _chat_events(resources: Resources) -> list[str]:
    """The viewers' chat messages stored (the bot's answers, read from the chat too, aside)."""
    async with read_session(resources) as session:
        rows = await session.execute(
            select(InboxEvent.external_id, InboxEvent.payload).where(
                InboxEvent.source == "youtube", InboxEvent.event_type == "chat.message"
            )
        )
        return [
            message_id
            for message_id, payload in rows.tuples()
            if payload["author"]["user_id"].startswith("UCviewer")
        ]


async def _handled(resources: Resources, message_ids: list[str]) -> bool:
    async with read_session(resources) as session:
        done = await session.scalar(
            select(func.count())
            .select_from(InboxEvent)
            .where(
                InboxEvent.source == "youtube",
                InboxEvent.external_id.in_(message_ids),
                InboxEvent.handled_at.is_not(None),
            )
        )
    return done == len(message_ids)


async def _wait_for(
    condition: Callable[[], Awaitable[bool]], what: str, within: float = 40
) -> None:
    deadline = time.monotonic() + within
    while not await condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


async def test_a_killed_workers_chat_is_taken_over_and_no_command_is_lost_or_run_twice(
    client: httpx.AsyncClient,
    resources: Resources,
    settings: Settings,
    fake_youtube: FakeYouTube,
) -> None:
    linked = await links.link_channel(
        resources, settings, fake_youtube, BROADCASTER, platform="youtube", scopes=[FORCE_SSL]
    )
    await links.link_bot(
        resources, settings, fake_youtube, BOT, platform="youtube", scopes=[FORCE_SSL]
    )
    assert linked.channel_id
    chat = fake_youtube.go_live(BROADCASTER, interval_ms=300)
    await youtube_service.check_live(resources, force=True)
    redis = resources.redis
    lease = POLLER_LEASE.format(channel=BROADCASTER)
    said: list[str] = []

    with worker_process(settings, fake_youtube) as first:

        async def first_holds() -> bool:
            return await redis.get(lease) is not None

        await _wait_for(first_holds, "the first worker to take the chat")
        held_by_first = await redis.get(lease)
        with worker_process(settings, fake_youtube) as second:
            await asyncio.sleep(LEASE_SECONDS * 1.5)  # the second runs, and polls nothing
            assert await redis.get(lease) == held_by_first
            for n in range(5):
                said.append(fake_youtube.say(chat, f"UCviewer{n}", f"Viewer{n}", "!balance")["id"])

            async def first_read_them() -> bool:
                return len(await _chat_events(resources)) == 5

            await _wait_for(first_read_them, "the first worker to read the chat")

            async def first_ran_them() -> bool:
                return await _handled(resources, said)

            await _wait_for(first_ran_them, "the first five commands to run")
            polls_before = len(fake_youtube.requests)
            # Said as the first worker dies: it may or may not have read them.
            for n in range(5, 10):
                said.append(fake_youtube.say(chat, f"UCviewer{n}", f"Viewer{n}", "!balance")["id"])
            first.send_signal(signal.SIGKILL)
            first.wait(5)

            async def taken_over() -> bool:
                current = await redis.get(lease)
                return current is not None and int(current) > int(held_by_first)

            await _wait_for(taken_over, "the second worker to take the chat over")
            for n in range(10, 15):
                said.append(fake_youtube.say(chat, f"UCviewer{n}", f"Viewer{n}", "!balance")["id"])

            async def all_read() -> bool:
                return len(await _chat_events(resources)) >= len(said)

            await _wait_for(all_read, "every message to be read")
            assert second.poll() is None
            assert len(fake_youtube.requests) > polls_before

            # The commands read before the kill and after the takeover have run. (A command
            # whose job the killed worker was in the middle of runs again once arq's job
            # timeout passes: the inbox keeps it, marked handled once.)
            async def handled() -> bool:
                return await _handled(resources, said[:5] + said[10:])

            await _wait_for(handled, "the commands to run")

    events = await _chat_events(resources)
    assert sorted(events) == sorted(said)  # each once: none lost, none twice
    async with read_session(resources) as session:
        viewers = set(
            await session.scalars(
                select(PlatformAccount.platform_user_id).where(
                    PlatformAccount.platform_user_id.like("UCviewer%")
                )
            )
        )
    # Each of those chatters' command ran (it made their chat-only identity).
    assert {f"UCviewer{n}" for n in [*range(5), *range(10, 15)]} <= viewers
