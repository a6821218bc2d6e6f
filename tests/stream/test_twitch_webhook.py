"""POST /webhooks/twitch as Twitch's EventSub calls it: signed deliveries stored once and
handled by a job, challenges answered raw, forged, stale, malformed and oversized ones refused
with nothing stored."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from app.channel.permissions import channel_or_404
from app.channel.service import channel_service
from app.chat.service import chat_service
from app.kit.resources import Resources
from app.kit.uow import read_session, unit_of_work
from app.models.inbox import InboxEvent
from app.settings import Settings
from tests.conftest import RunJobs
from tests.factories import create_platform_account
from tests.fakes.twitch import objects, signing
from tests.worlds import World

SECRET = "eventsub-secret-for-tests"
BROADCASTER = "141981764"


@pytest.fixture
def eventsub_secret() -> str:
    return SECRET


@pytest.fixture
def settings(database_url: str, redis_url: str, eventsub_secret: str) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        twitch_eventsub_secret=SecretStr(eventsub_secret),
    )


def _chat_subscription() -> objects.JsonObject:
    return objects.subscription(
        "channel.chat.message",
        {"broadcaster_user_id": BROADCASTER, "user_id": "99"},
        {"method": "webhook", "callback": "https://example.com/webhooks/twitch"},
    )


def _chat(text: str, *, chatter: str = "555", message_id: str | None = None) -> signing.Delivery:
    event = objects.chat_message_event(
        BROADCASTER,
        "streamer",
        chatter_id=chatter,
        chatter_login=f"chatter{chatter}",
        text=text,
        badges=[objects.badge("moderator"), objects.badge("subscriber", "12")],
        message_id=message_id,
    )
    return signing.notification(_chat_subscription(), event, SECRET)


async def _send(client: httpx.AsyncClient, delivery: signing.Delivery) -> httpx.Response:
    return await client.post("/webhooks/twitch", content=delivery.body, headers=delivery.headers)


async def _stored(resources: Resources) -> int:
    async with read_session(resources) as session:
        count = await session.scalar(
            select(func.count()).select_from(InboxEvent).where(InboxEvent.source == "twitch")
        )
    return int(count or 0)


async def _link(resources: Resources, world: World) -> None:
    async with unit_of_work(resources) as session:
        channel = await channel_or_404(session, world.channel_id)
        account = await create_platform_account(
            session, world.owner.id, platform_user_id=BROADCASTER
        )
        await channel_service.link_verified(session, channel, account)


async def test_a_notification_is_stored_once_and_a_resend_answered_2xx(
    client: httpx.AsyncClient, resources: Resources
) -> None:
    delivery = _chat("hello")
    first = await _send(client, delivery)
    again = await _send(client, delivery)
    assert first.status_code == 200 and first.json() == {"received": True, "duplicate": False}
    assert again.status_code == 200 and again.json() == {"received": True, "duplicate": True}
    assert await _stored(resources) == 1


async def test_the_callback_challenge_is_answered_raw_as_plain_text(
    client: httpx.AsyncClient, resources: Resources
) -> None:
    delivery = signing.verification(_chat_subscription(), SECRET, challenge="pogchamp-kappa-360")
    response = await _send(client, delivery)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == "pogchamp-kappa-360"
    assert await _stored(resources) == 0


@pytest.mark.parametrize("tamper", ["body", "id", "timestamp", "signature", "secret"])
async def test_a_forged_delivery_is_refused_403_and_nothing_is_stored(
    client: httpx.AsyncClient, resources: Resources, tamper: str
) -> None:
    delivery = _chat("hello")
    headers, body = dict(delivery.headers), delivery.body
    if tamper == "body":
        body = body.replace(b"hello", b"hellp")
    elif tamper == "id":
        headers["Twitch-Eventsub-Message-Id"] += "0"
    elif tamper == "timestamp":
        stamp = headers["Twitch-Eventsub-Message-Timestamp"]
        headers["Twitch-Eventsub-Message-Timestamp"] = (
            stamp[:-2] + ("1" if stamp[-2] != "1" else "2") + "Z"
        )
    elif tamper == "signature":
        headers["Twitch-Eventsub-Message-Signature"] = "sha256=" + "0" * 64
    else:
        headers = dict(signing.notification(_chat_subscription(), {}, "another-secret").headers)
    response = await client.post("/webhooks/twitch", content=body, headers=headers)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "invalid_signature"
    assert await _stored(resources) == 0


async def test_a_delivery_older_than_ten_minutes_is_refused(
    client: httpx.AsyncClient, resources: Resources
) -> None:
    event = objects.stream_offline_event(BROADCASTER, "streamer")
    subscription = objects.subscription(
        "stream.offline", {"broadcaster_user_id": BROADCASTER}, {"method": "webhook"}
    )
    stale = signing.notification(
        subscription, event, SECRET, sent_at=datetime.now(UTC) - timedelta(minutes=11)
    )
    response = await _send(client, stale)
    assert response.status_code == 403
    assert (
        "old" in response.json()["error"]["message"]
        or "stale" in response.json()["error"]["message"]
    )
    assert await _stored(resources) == 0


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[]", b'{"subscription": 1}', b"[" * 5000 + b"]" * 5000],
    ids=["broken", "array", "wrong-shape", "5000-deep"],
)
async def test_a_signed_but_unreadable_delivery_is_refused_400(
    client: httpx.AsyncClient, resources: Resources, body: bytes
) -> None:
    stamp = objects.rfc3339()
    headers = {
        "Content-Type": "application/json",
        "Twitch-Eventsub-Message-Id": "m-1",
        "Twitch-Eventsub-Message-Retry": "0",
        "Twitch-Eventsub-Message-Type": "notification",
        "Twitch-Eventsub-Message-Signature": signing.signature(SECRET, "m-1", stamp, body),
        "Twitch-Eventsub-Message-Timestamp": stamp,
        "Twitch-Eventsub-Subscription-Type": "stream.offline",
        "Twitch-Eventsub-Subscription-Version": "1",
    }
    response = await client.post("/webhooks/twitch", content=body, headers=headers)
    assert response.status_code == 400
    assert await _stored(resources) == 0


async def test_an_oversized_delivery_is_refused_413(
    client: httpx.AsyncClient, resources: Resources
) -> None:
    delivery = _chat("x" * 300_000)
    response = await _send(client, delivery)
    assert response.status_code == 413
    assert await _stored(resources) == 0


async def test_twitch_chat_joins_the_channels_chat_with_its_platform_and_badges(
    client: httpx.AsyncClient, resources: Resources, world: World, run_jobs: RunJobs
) -> None:
    await _link(resources, world)
    for text in ["first!", "second", "third"]:
        assert (await _send(client, _chat(text, message_id=f"msg-{text}"))).status_code == 200
    await run_jobs()
    history = await chat_service.history(resources.redis, world.channel_id)
    assert [m.text for m in history][-3:] == ["first!", "second", "third"]
    last = history[-1]
    assert (last.platform, last.display_name, last.user_id) == ("twitch", "Chatter555", None)
    assert last.badges == ["moderator/1", "subscriber/12"]
    assert last.id == "twitch:msg-third"


async def test_events_of_an_unlinked_channel_are_handled_and_change_nothing(
    client: httpx.AsyncClient, resources: Resources, world: World, run_jobs: RunJobs
) -> None:
    assert (await _send(client, _chat("anyone there?"))).status_code == 200
    await run_jobs()
    assert await chat_service.history(resources.redis, world.channel_id) == []
    async with read_session(resources) as session:
        handled = await session.scalar(select(InboxEvent.handled_at))
    assert handled is not None


@pytest.mark.parametrize("eventsub_secret", [""])
async def test_without_a_secret_the_endpoint_is_off(client: httpx.AsyncClient) -> None:
    response = await _send(client, _chat("hello"))
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "twitch_not_configured"
