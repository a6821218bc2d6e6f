"""The EventSub WebSocket transport end to end, against a fake Twitch and a fake EventSub
WebSocket: the listener subscribes on its sessions with users' tokens, what arrives goes
through the same inbox as webhooks, one worker holds it at a time, and a refused grant is
marked for relink."""

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from app.chat.service import chat_service
from app.kit.resources import Resources
from app.kit.uow import read_session
from app.models.channel import LinkStatus
from app.models.inbox import InboxEvent
from app.models.platform import TokenPurpose
from app.platform.tokens import platform_token_service
from app.settings import Settings
from app.stream.listener import EventSubListener
from tests.conftest import RunJobs
from tests.fakes.twitch import FakeTwitch, objects
from tests.fakes.twitch.websocket import FakeEventSubWebSocket
from tests.stream.twitch import (
    expected,
    link_bot,
    link_channel,
    link_status,
    listed,
    subscription_of,
)

BROADCASTER, BOT = "141981764", "900900"


@pytest.fixture
async def fake_ws() -> AsyncIterator[FakeEventSubWebSocket]:
    async with FakeEventSubWebSocket(keepalive_timeout_seconds=2) as fake:
        yield fake


@pytest.fixture
def settings(
    database_url: str, redis_url: str, fake_twitch: FakeTwitch, fake_ws: FakeEventSubWebSocket
) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        twitch_client_id=fake_twitch.client_id,
        twitch_client_secret=SecretStr(fake_twitch.client_secret),
        twitch_eventsub_transport="websocket",
        twitch_eventsub_ws_url=fake_ws.url,
        twitch_api_base=fake_twitch.helix_url,
        twitch_id_base=fake_twitch.id_url,
    )


@asynccontextmanager
async def listening(resources: Resources) -> AsyncIterator[asyncio.Task[None]]:
    """A listener running as a worker runs it, cancelled at the end as at shutdown."""
    listener = EventSubListener(
        resources, lease_ttl_ms=1500, pass_seconds=1, keepalive_slack_seconds=1
    )
    task = asyncio.create_task(listener.run())
    try:
        yield task
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


async def eventually(check: Callable[[], object | Awaitable[object]], seconds: float = 10) -> None:
    """Until ``check`` (sync or async) holds, polling; fails after ``seconds``."""
    for _ in range(int(seconds / 0.05)):
        outcome = check()
        if await outcome if inspect.isawaitable(outcome) else outcome:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never true within {seconds} s")


async def has_stored(resources: Resources) -> bool:
    async with read_session(resources) as session:
        count = await session.scalar(select(func.count()).select_from(InboxEvent))
    return bool(count)


async def needs_relink(resources: Resources, channel_id: int) -> bool:
    return await link_status(resources, channel_id) is LinkStatus.needs_relink


async def test_chat_over_the_websocket_reaches_the_channels_chat(
    resources: Resources,
    settings: Settings,
    fake_twitch: FakeTwitch,
    fake_ws: FakeEventSubWebSocket,
    run_jobs: RunJobs,
) -> None:
    await link_bot(resources, settings, fake_twitch, BOT)
    linked = await link_channel(resources, settings, fake_twitch, BROADCASTER)

    async with listening(resources):
        want = expected(BROADCASTER, bot_id=BOT)
        await eventually(lambda: listed(fake_twitch, method="websocket") == want)
        # One session per subscribing user: the bot's carries chat, the broadcaster's the rest.
        chat = subscription_of(fake_twitch, "channel.chat.message", BROADCASTER)
        online = subscription_of(fake_twitch, "stream.online", BROADCASTER)
        sessions = {connection.session_id for connection in fake_ws.connections}
        assert len(fake_ws.connections) == 2
        assert {chat["transport"]["session_id"], online["transport"]["session_id"]} == sessions

        event = objects.chat_message_event(
            BROADCASTER,
            f"streamer{BROADCASTER}",
            chatter_id="555",
            chatter_login="chatter555",
            text="gl hf!",
            badges=[objects.badge("subscriber", "6")],
        )
        await fake_ws.send_notification(chat, event)
        await eventually(lambda: has_stored(resources))
        await run_jobs()

    history = await chat_service.history(resources.redis, linked.channel_id)
    assert [(m.platform, m.display_name, m.text) for m in history] == [
        ("twitch", "Chatter555", "gl hf!")
    ]


async def test_one_worker_holds_the_websocket_and_another_takes_over(
    resources: Resources,
    settings: Settings,
    fake_twitch: FakeTwitch,
    fake_ws: FakeEventSubWebSocket,
) -> None:
    await link_channel(resources, settings, fake_twitch, BROADCASTER)
    want = expected(BROADCASTER)

    def on_sessions(first: int) -> set[tuple[str, tuple[tuple[str, str], ...]]]:
        ids = {connection.session_id for connection in fake_ws.connections[first:]}
        return {
            item
            for session_id in ids
            for item in listed(fake_twitch, method="websocket", session_id=session_id)
        }

    async with listening(resources) as first:
        await eventually(lambda: on_sessions(0) == want)
        async with listening(resources):
            await asyncio.sleep(1.5)  # a lease's lifetime: the second never connects
            assert len(fake_ws.connections) == 1
            first.cancel()  # the first worker shuts down: the second takes over
            with suppress(asyncio.CancelledError):
                await first
            await eventually(lambda: len(fake_ws.connections) == 2 and on_sessions(1) == want)


async def test_a_revoked_grant_is_marked_for_relink(
    resources: Resources,
    settings: Settings,
    fake_twitch: FakeTwitch,
    fake_ws: FakeEventSubWebSocket,
) -> None:
    linked = await link_channel(resources, settings, fake_twitch, BROADCASTER)
    fake_twitch.revoke(linked.access_token)  # the streamer disconnected the app on Twitch

    async with listening(resources):
        await eventually(lambda: needs_relink(resources, linked.channel_id))

    assert listed(fake_twitch) == set()


async def test_a_revocation_over_the_websocket_is_acted_on(
    resources: Resources,
    settings: Settings,
    fake_twitch: FakeTwitch,
    fake_ws: FakeEventSubWebSocket,
    run_jobs: RunJobs,
) -> None:
    linked = await link_channel(resources, settings, fake_twitch, BROADCASTER)

    async with listening(resources):
        await eventually(lambda: listed(fake_twitch, method="websocket") == expected(BROADCASTER))
        begin = subscription_of(fake_twitch, "channel.prediction.begin", BROADCASTER)
        await fake_ws.send_revocation(begin, "authorization_revoked")
        await eventually(lambda: has_stored(resources))
        await run_jobs()

    assert await link_status(resources, linked.channel_id) is LinkStatus.needs_relink


async def test_a_token_twitch_refuses_early_is_refreshed_and_the_subscriptions_made(
    resources: Resources,
    settings: Settings,
    fake_twitch: FakeTwitch,
    fake_ws: FakeEventSubWebSocket,
) -> None:
    linked = await link_channel(resources, settings, fake_twitch, BROADCASTER)
    fake_twitch.unauthorized_next(1)  # the first subscription's token is refused (401)

    async with listening(resources):
        want = expected(BROADCASTER)
        await eventually(lambda: listed(fake_twitch, method="websocket") == want)

    assert not await needs_relink(resources, linked.channel_id)
    async with read_session(resources) as session:
        current = await platform_token_service.access_token(
            session, settings, linked.account_id, TokenPurpose.broadcaster
        )
    assert current != linked.access_token and current in fake_twitch.tokens  # refreshed, kept
