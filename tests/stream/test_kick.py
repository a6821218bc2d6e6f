"""Kick through the whole pipeline, against the fake Kick: /webhooks/kick verifies Kick's RSA
signature (the configured key, or the one Kick's API serves) and stores each delivery once, or
refuses it (403) with nothing stored; chat bets land in the channel's pool and the bot answers
in Kick's chat; going live opens the automation's pool; the subscriptions are reconciled."""

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from sqlalchemy import func, select

from app.kit.resources import Resources
from app.kit.uow import read_session
from app.models.channel import Channel
from app.models.inbox import InboxEvent
from app.models.user import User
from app.settings import Settings
from tests.conftest import RunJobs
from tests.factories import DEFAULT_PASSWORD, bearer
from tests.fakes.kick import FakeKick, objects
from tests.fakes.kick.signing import new_key, public_pem
from tests.stream import twitch as links

BROADCASTER = "141981764"
BOT = "990001"
COALESCE_MS = 200


@pytest.fixture
def settings(database_url: str, redis_url: str, fake_kick: FakeKick) -> Settings:
    return fake_kick.settings(database_url, redis_url, chat_reply_coalesce_ms=COALESCE_MS)


@dataclass
class KickStream:
    client: httpx.AsyncClient
    resources: Resources
    run_jobs: RunJobs
    kick: FakeKick
    linked: links.Linked

    async def post(self, event_type: str, event: objects.JsonObject) -> httpx.Response:
        """``event`` signed with Kick's key, posted to the webhook."""
        delivery = self.kick.delivery(event_type, event)
        return await self.client.post(
            "/webhooks/kick", content=delivery.body, headers=delivery.headers
        )

    async def say(
        self, text: str, *, sender: int = 555, name: str = "Grace", run_jobs: bool = True
    ) -> None:
        """A chat message delivered as Kick does; then the jobs it made are run, unless not."""
        event = objects.chat_message_event(
            int(BROADCASTER), "Streamer", sender_id=sender, sender=name, content=text
        )
        answer = await self.post("chat.message.sent", event)
        assert answer.status_code == 200, answer.text
        if run_jobs:
            await self.run_jobs()

    async def owner(self) -> dict[str, str]:
        """The channel's owner, signed in."""
        async with read_session(self.resources) as session:
            channel = await session.get(Channel, self.linked.channel_id)
            assert channel is not None
            owner = await session.get(User, channel.owner_id)
            assert owner is not None and owner.email is not None
            email = owner.email
        login = await self.client.post(
            "/api/v1/auth/login", json={"email": email, "password": DEFAULT_PASSWORD}
        )
        assert login.status_code == 200, login.text
        return bearer(login.json()["access_token"])


@pytest.fixture
async def stream(
    client: httpx.AsyncClient,
    resources: Resources,
    settings: Settings,
    run_jobs: RunJobs,
    fake_kick: FakeKick,
) -> KickStream:
    linked = await links.link_channel(resources, settings, fake_kick, BROADCASTER, platform="kick")
    await links.link_bot(resources, settings, fake_kick, BOT, platform="kick")
    return KickStream(client, resources, run_jobs, fake_kick, linked)


async def _stored(resources: Resources) -> int:
    async with read_session(resources) as session:
        return int(await session.scalar(select(func.count()).select_from(InboxEvent)) or 0)


def _chat(text: str = "!balance") -> objects.JsonObject:
    return objects.chat_message_event(
        int(BROADCASTER), "Streamer", sender_id=555, sender="Grace", content=text
    )


# -- the webhook ----------------------------------------------------------------------------------


async def test_a_delivery_signed_with_kicks_key_is_stored_once(stream: KickStream) -> None:
    delivery = stream.kick.delivery("chat.message.sent", _chat())
    first = await stream.client.post(
        "/webhooks/kick", content=delivery.body, headers=delivery.headers
    )
    again = await stream.client.post(
        "/webhooks/kick", content=delivery.body, headers=delivery.headers
    )

    assert first.status_code == 200, first.text
    assert first.json() == {"received": True, "duplicate": False}
    assert again.json() == {"received": True, "duplicate": True}
    assert await _stored(stream.resources) == 1
    async with read_session(stream.resources) as session:
        stored = (
            await session.execute(
                select(InboxEvent.source, InboxEvent.external_id, InboxEvent.event_type)
            )
        ).one()
    assert tuple(stored) == (
        "kick",
        delivery.message_id,
        "chat.message.sent",
    )


async def test_a_changed_byte_another_key_or_a_stale_time_is_refused_with_nothing_stored(
    stream: KickStream,
) -> None:
    genuine = stream.kick.delivery("chat.message.sent", _chat("!bet 1 100"))
    tampered = genuine.body.replace(b"!bet 1 100", b"!bet 1 900")
    forged = stream.kick.delivery("chat.message.sent", _chat(), key=new_key())
    stale = stream.kick.delivery(
        "chat.message.sent", _chat(), sent_at=datetime.now(UTC) - timedelta(minutes=11)
    )
    for headers, body in (
        (genuine.headers, tampered),
        (forged.headers, forged.body),
        (stale.headers, stale.body),
        ({**genuine.headers, "Kick-Event-Signature": "bm90IGEgc2lnbmF0dXJl"}, genuine.body),
        ({k: v for k, v in genuine.headers.items() if k != "Kick-Event-Signature"}, genuine.body),
    ):
        answer = await stream.client.post("/webhooks/kick", content=body, headers=headers)
        assert answer.status_code == 403, answer.text
        assert answer.json()["error"]["code"] == "invalid_signature"
    assert await _stored(stream.resources) == 0
    # A failure with the known keys fetched Kick's key once, not once per forged request.
    fetched = [r for r in stream.kick.requests if r[1] == "/public/v1/public-key"]
    assert len(fetched) == 1


async def test_without_a_configured_key_kicks_published_key_is_fetched_and_cached(
    stream: KickStream, settings: Settings
) -> None:
    settings.kick_public_key = ""
    for text in ("!balance", "!pool"):
        answer = await stream.post("chat.message.sent", _chat(text))
        assert answer.status_code == 200, answer.text
    fetched = [r for r in stream.kick.requests if r[1] == "/public/v1/public-key"]
    assert len(fetched) == 1
    assert await _stored(stream.resources) == 2


async def test_a_rotated_key_is_fetched_again_and_the_delivery_accepted(
    stream: KickStream, settings: Settings, kick_key: RSAPrivateKey
) -> None:
    settings.kick_public_key = public_pem(new_key())  # what the docs said before a rotation
    answer = await stream.post("chat.message.sent", _chat())
    assert answer.status_code == 200, answer.text
    assert await _stored(stream.resources) == 1


async def test_kick_not_configured_answers_503(
    client: httpx.AsyncClient, settings: Settings, fake_kick: FakeKick
) -> None:
    settings.kick_client_id = ""
    delivery = fake_kick.delivery("chat.message.sent", _chat())
    answer = await client.post("/webhooks/kick", content=delivery.body, headers=delivery.headers)
    assert answer.status_code == 503
    assert answer.json()["error"]["code"] == "kick_not_configured"


# -- chat, automations ----------------------------------------------------------------------------


async def test_a_kick_chatter_bets_from_chat_and_the_bot_answers_in_kick_chat(
    stream: KickStream,
) -> None:
    owner = await stream.owner()
    opened = await stream.client.post(
        "/api/v1/pools",
        json={
            "channel_id": stream.linked.channel_id,
            "title": "Boss first try?",
            "outcomes": ["Yes", "No"],
            "window_seconds": 600,
            "min_stake": 10,
            "max_stake": 5_000,
        },
        headers=owner,
    )
    assert opened.status_code == 201, opened.text
    pool = opened.json()
    # Opened from the dashboard: announced in Kick's chat.
    await stream.run_jobs()
    await asyncio.sleep(COALESCE_MS / 1000 + 0.05)
    await stream.run_jobs()
    said = [message["content"] for message in stream.kick.chat_messages]
    assert said == [
        f"Pool #{pool['id']} is open: Boss first try? 1) Yes 2) No — !bet <number> <amount>"
    ]

    # Both in before the worker runs, as in a busy chat: their answers share one message.
    await stream.say("!bet 1 100", sender=701, name="Alice", run_jobs=False)
    await stream.say("!bet no 250", sender=702, name="Bob")
    live = (await stream.client.get(f"/api/v1/pools/{pool['id']}")).json()
    assert [o["total"] for o in live["outcomes"]] == [100, 250]

    await asyncio.sleep(COALESCE_MS / 1000 + 0.05)
    await stream.run_jobs()
    said = [message["content"] for message in stream.kick.chat_messages][1:]
    assert len(said) == 1 and said[0].endswith(" ✓"), said
    # The two bets are handled by concurrent jobs: named in either order.
    assert sorted(said[0].removesuffix(" ✓").split(", ")) == ["@Alice 100 on Yes", "@Bob 250 on No"]
    assert {m["broadcaster_user_id"] for m in stream.kick.chat_messages} == {int(BROADCASTER)}
    assert {m["sender_user_id"] for m in stream.kick.chat_messages} == {BOT}


async def test_going_live_on_kick_opens_the_automations_pool(stream: KickStream) -> None:
    owner = await stream.owner()
    channel_id = stream.linked.channel_id
    template = await stream.client.post(
        f"/api/v1/channels/{channel_id}/templates",
        json={"name": "first-try", "title": "Boss first try?", "outcomes": ["Yes", "No"]},
        headers=owner,
    )
    assert template.status_code == 201, template.text
    rule = await stream.client.post(
        f"/api/v1/channels/{channel_id}/automations",
        json={"kind": "stream_online", "template_id": template.json()["id"]},
        headers=owner,
    )
    assert rule.status_code == 201, rule.text

    started = datetime.now(UTC).replace(microsecond=0)
    online = objects.livestream_status_event(
        int(BROADCASTER), "Streamer", is_live=True, started_at=started
    )
    for _ in range(2):  # Kick may deliver it twice, under two message ids
        assert (await stream.post("livestream.status.updated", online)).status_code == 200
    await stream.run_jobs()
    pools = (await stream.client.get(f"/api/v1/channels/{channel_id}/pools")).json()["pools"]
    assert [(p["title"], p["status"]) for p in pools] == [("Boss first try?", "open")]
