"""A channel verifiably linked to a Twitch channel, Twitch's chat bot linked, and a fake Twitch
that records what the bot says; chat arrives as signed EventSub deliveries to /webhooks/twitch."""

import asyncio
from dataclasses import dataclass
from typing import TypedDict

import httpx
import pytest
from pydantic import SecretStr

from app.channel.service import channel_service
from app.kit.resources import Resources
from app.kit.uow import unit_of_work
from app.models.channel import Channel
from app.settings import Settings
from tests.conftest import RunJobs
from tests.factories import create_channel, create_platform_account, create_user
from tests.fakes.twitch import objects, signing
from tests.fakes.twitch.server import FakeTwitch
from tests.stream import twitch as twitch_links

SECRET = "eventsub-secret-for-tests"
BROADCASTER = "141981764"
BOT = "990001"
#: Replies coalesce over this window in the tests (short, so tests wait little).
COALESCE_MS = 200


@pytest.fixture
def settings(database_url: str, redis_url: str, fake_twitch: FakeTwitch) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        twitch_eventsub_secret=SecretStr(SECRET),
        twitch_client_id=fake_twitch.client_id,
        twitch_client_secret=SecretStr(fake_twitch.client_secret),
        twitch_api_base=fake_twitch.helix_url,
        twitch_id_base=fake_twitch.id_url,
        chat_reply_coalesce_ms=COALESCE_MS,
    )


class Chatter(TypedDict, total=False):
    """Who says something (``stream.say(text, **chatter)``)."""

    chatter: str
    login: str
    badges: tuple[str, ...]


@dataclass
class Stream:
    """The channel, its owner, and what it takes to chat in it."""

    channel_id: int
    owner_id: int
    client: httpx.AsyncClient
    resources: Resources
    run_jobs: RunJobs
    twitch: FakeTwitch

    async def say(
        self,
        text: str,
        *,
        chatter: str = "555",
        login: str | None = None,
        badges: tuple[str, ...] = (),
        message_id: str | None = None,
    ) -> str:
        """A chat message, delivered (signed) to the webhook; returns its message id."""
        event = objects.chat_message_event(
            BROADCASTER,
            "streamer",
            chatter_id=chatter,
            chatter_login=login or f"chatter{chatter}",
            text=text,
            badges=[objects.badge(badge) for badge in badges],
            message_id=message_id,
        )
        subscription = objects.subscription(
            "channel.chat.message",
            {"broadcaster_user_id": BROADCASTER, "user_id": BOT},
            {"method": "webhook", "callback": "https://example.com/webhooks/twitch"},
        )
        delivery = signing.notification(subscription, event, SECRET)
        response = await self.client.post(
            "/webhooks/twitch", content=delivery.body, headers=delivery.headers
        )
        assert response.status_code == 200, response.text
        return str(event["message_id"])

    async def handle(self) -> None:
        """Run the jobs due now (the inbox handles chat)."""
        await self.run_jobs()

    async def replies(self) -> list[str]:
        """Wait out the coalescing window, run the reply flush, and return all the bot said."""
        await self.run_jobs()
        await asyncio.sleep(COALESCE_MS / 1000 + 0.05)
        await self.run_jobs()
        return [str(message["message"]) for message in self.twitch.chat_messages]

    async def channel(self) -> Channel:
        async with unit_of_work(self.resources) as session:
            channel = await session.get(Channel, self.channel_id)
            assert channel is not None
            return channel


async def link_bot(resources: Resources, settings: Settings, twitch: FakeTwitch) -> None:
    """The platform's chat bot, linked by an admin through OAuth (as stored afterwards)."""
    await twitch_links.link_bot(resources, settings, twitch, BOT)


@pytest.fixture
async def stream(
    client: httpx.AsyncClient,
    resources: Resources,
    settings: Settings,
    run_jobs: RunJobs,
    fake_twitch: FakeTwitch,
) -> Stream:
    async with unit_of_work(resources) as session:
        owner = await create_user(session, settings, display_name="Streamer")
        channel = await create_channel(session, owner.id)
        account = await create_platform_account(
            session, owner.id, platform_user_id=BROADCASTER, login="streamer"
        )
        await channel_service.link_verified(session, channel, account)
    fake_twitch.add_user(BROADCASTER, "streamer")
    await link_bot(resources, settings, fake_twitch)
    return Stream(channel.id, owner.id, client, resources, run_jobs, fake_twitch)
