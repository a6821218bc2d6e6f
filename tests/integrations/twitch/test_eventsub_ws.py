"""The EventSub WebSocket client against a fake EventSub WebSocket server."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from integrations.twitch.eventsub import EventSubMessage, to_platform_event
from integrations.twitch.eventsub_ws import EventSubWebSocket, SessionStarted
from tests.fakes.twitch import objects
from tests.fakes.twitch.websocket import FakeEventSubWebSocket

BROADCASTER_ID, BOT_ID = "1337", "4242"


@pytest.fixture
async def fake_ws() -> AsyncIterator[FakeEventSubWebSocket]:
    async with FakeEventSubWebSocket(keepalive_timeout_seconds=1) as fake:
        yield fake


@pytest.fixture
async def client(fake_ws: FakeEventSubWebSocket) -> AsyncIterator[EventSubWebSocket]:
    async with EventSubWebSocket(fake_ws.url, keepalive_slack_seconds=0.3) as client:
        yield client


def chat_subscription(session_id: str) -> objects.JsonObject:
    return objects.subscription(
        "channel.chat.message",
        {"broadcaster_user_id": BROADCASTER_ID, "user_id": BOT_ID},
        {"method": "websocket", "session_id": session_id},
    )


async def next_item(client: EventSubWebSocket) -> SessionStarted | EventSubMessage:
    async with asyncio.timeout(15):
        return await anext(client)


async def next_message(client: EventSubWebSocket) -> EventSubMessage:
    item = await next_item(client)
    assert isinstance(item, EventSubMessage)
    return item


async def test_the_welcome_gives_the_session_to_subscribe_with(
    fake_ws: FakeEventSubWebSocket, client: EventSubWebSocket
) -> None:
    started = await next_item(client)

    assert isinstance(started, SessionStarted)
    assert started.session_id == fake_ws.current.session_id == client.session_id
    assert started.keepalive_timeout_seconds == 1


async def test_a_notification_is_a_message_like_a_webhooks(
    fake_ws: FakeEventSubWebSocket, client: EventSubWebSocket
) -> None:
    started = await next_item(client)
    assert isinstance(started, SessionStarted)
    event = objects.chat_message_event(
        BROADCASTER_ID, "ada", chatter_id="777", chatter_login="grace", text="!bet yes 100"
    )
    message_id = await fake_ws.send_notification(chat_subscription(started.session_id), event)

    message = await next_message(client)

    assert message.message_type == "notification"
    assert message.message_id == message_id
    assert message.subscription.type == "channel.chat.message"
    assert message.event == event
    platform_event = to_platform_event(message, datetime.now(UTC))
    assert platform_event is not None and platform_event.text == "!bet yes 100"
    assert platform_event.delivery_id == message_id


async def test_keepalives_keep_the_session(
    fake_ws: FakeEventSubWebSocket, client: EventSubWebSocket
) -> None:
    await next_item(client)
    # Longer than keepalive + slack: only the fake's keepalives keep the connection.
    await asyncio.sleep(1.5)
    subscription = chat_subscription(fake_ws.current.session_id)
    await fake_ws.send_revocation(subscription)

    message = await next_message(client)

    assert message.message_type == "revocation"
    assert message.subscription.status == "authorization_revoked"
    assert len(fake_ws.connections) == 1


async def test_silence_past_the_keepalive_starts_a_new_session(
    fake_ws: FakeEventSubWebSocket, client: EventSubWebSocket
) -> None:
    first = await next_item(client)
    fake_ws.silent = True

    second = await next_item(client)

    assert isinstance(first, SessionStarted) and isinstance(second, SessionStarted)
    assert second.session_id != first.session_id
    assert client.session_id == second.session_id
    assert len(fake_ws.connections) == 2
    assert fake_ws.connections[0].ws.closed


async def test_a_reconnect_moves_to_the_new_url_and_keeps_the_session(
    fake_ws: FakeEventSubWebSocket, client: EventSubWebSocket
) -> None:
    started = await next_item(client)
    assert isinstance(started, SessionStarted)
    waiting = asyncio.create_task(next_message(client))
    await fake_ws.ask_to_reconnect()
    async with asyncio.timeout(15):
        await fake_ws.wait_for_connections(2)
    event = objects.stream_offline_event(BROADCASTER_ID, "ada")
    offline = objects.subscription(
        "stream.offline",
        {"broadcaster_user_id": BROADCASTER_ID},
        {"method": "websocket", "session_id": started.session_id},
    )
    message_id = await fake_ws.send_notification(offline, event)

    message = await waiting

    assert message.message_id == message_id
    assert fake_ws.current.session_id == started.session_id == client.session_id
    async with asyncio.timeout(15):
        await fake_ws.connections[0].ended.wait()


async def test_close_ends_the_iteration(
    fake_ws: FakeEventSubWebSocket, client: EventSubWebSocket
) -> None:
    await next_item(client)
    waiting = asyncio.create_task(anext(client))
    await asyncio.sleep(0.05)

    await client.close()

    with pytest.raises(StopAsyncIteration):
        async with asyncio.timeout(15):
            await waiting
    async with asyncio.timeout(15):
        await fake_ws.current.ended.wait()
