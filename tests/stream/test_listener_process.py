"""Twitch's EventSub WebSocket listener as production runs it: in a ``streampools integrations``
process (not the arq worker), against the fake Twitch and its fake EventSub WebSocket. It
subscribes on its sessions with the users' tokens, a chat message it receives is stored in the
inbox once, and SIGTERM closes its connections and gives its lease up."""

import signal
from pathlib import Path

from sqlalchemy import select

from app.kit.resources import Resources
from app.kit.uow import read_session
from app.models.inbox import InboxEvent
from app.settings import Settings
from app.stream.listener import LEASE_NAME
from tests.fakes.twitch import FakeTwitch, objects
from tests.fakes.twitch.websocket import FakeEventSubWebSocket
from tests.stream.test_listener import BOT, BROADCASTER, fake_ws, settings
from tests.stream.twitch import expected, link_bot, link_channel, listed, subscription_of
from tests.workers.replicas import replica, wait_for

__all__ = ["fake_ws", "settings"]


async def test_the_integrations_worker_holds_the_eventsub_websocket(
    resources: Resources,
    settings: Settings,
    fake_twitch: FakeTwitch,
    fake_ws: FakeEventSubWebSocket,
    tmp_path: Path,
) -> None:
    await link_bot(resources, settings, fake_twitch, BOT)
    await link_channel(resources, settings, fake_twitch, BROADCASTER)
    environment = {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "STREAMPOOLS_TWITCH_CLIENT_ID": settings.twitch_client_id,
        "STREAMPOOLS_TWITCH_CLIENT_SECRET": settings.twitch_client_secret.get_secret_value(),
        "STREAMPOOLS_TWITCH_EVENTSUB_TRANSPORT": "websocket",
        "STREAMPOOLS_TWITCH_EVENTSUB_WS_URL": settings.twitch_eventsub_ws_url,
        "STREAMPOOLS_TWITCH_API_BASE": settings.twitch_api_base,
        "STREAMPOOLS_TWITCH_ID_BASE": settings.twitch_id_base,
    }
    with replica(environment, tmp_path / "integrations.log") as running:

        async def subscribed() -> bool:
            assert running.process.poll() is None, running.log.read_text()
            return listed(fake_twitch, method="websocket") == expected(BROADCASTER, bot_id=BOT)

        await wait_for(subscribed, "the listener's subscriptions over the WebSocket")
        [started] = [line for line in running.lines() if "started" in str(line["message"])]
        assert started["running"] == ["twitch-eventsub-websocket"]
        assert started["off"] == ["youtube-chat-pollers"]

        chat = subscription_of(fake_twitch, "channel.chat.message", BROADCASTER)
        event = objects.chat_message_event(
            BROADCASTER,
            f"streamer{BROADCASTER}",
            chatter_id="555",
            chatter_login="chatter555",
            text="!balance",
        )
        message_id = await fake_ws.send_notification(chat, event)

        async def stored() -> bool:
            async with read_session(resources) as session:
                found = await session.scalars(
                    select(InboxEvent.external_id).where(InboxEvent.source == "twitch")
                )
                return list(found) == [message_id]

        await wait_for(stored, "the chat message in the inbox")
        assert await resources.redis.get(LEASE_NAME) is not None
        running.process.send_signal(signal.SIGTERM)
        assert running.process.wait(15) == 0
    assert await resources.redis.get(LEASE_NAME) is None  # given up on the way out
