"""YouTube through the whole pipeline, against the fake YouTube Data API: the live check finds
a linked channel's active broadcast; its chat's poller skips the history page, puts each new
message in the inbox once (a chat !bet lands in the pool, answered in YouTube chat), waits at
least ``pollingIntervalMillis`` and stops at ``offlineAt``; a quota error pauses every call until
the reset and tells the streamer; WebSub verifications are answered raw and only signed pushes
count; one worker at a time polls a chat (a lease with fencing)."""

import asyncio
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from app.kit.resources import Resources
from app.kit.uow import read_session
from app.models.channel import Channel
from app.models.inbox import InboxEvent
from app.models.notification import Notification
from app.models.user import User
from app.settings import Settings
from app.stream.youtube import (
    CHECKED,
    PAGE,
    PAUSED,
    ChatPollers,
    youtube_service,
)
from app.stream.youtube_chat import live_chat
from app.stream.youtube_quota import QuotaPlanner
from integrations.youtube import websub
from tests.conftest import RunJobs
from tests.factories import DEFAULT_PASSWORD, bearer
from tests.fakes.youtube import FakeYouTube
from tests.fakes.youtube.server import FORCE_SSL, Chat
from tests.stream import twitch as links

BROADCASTER = "UCstreamer000000000000a"
BOT = "UCpoolsbot0000000000000b"
COALESCE_MS = 200
WEBSUB_SECRET = "websub-master-secret-for-tests"


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
        youtube_websub_secret=SecretStr(WEBSUB_SECRET),
        youtube_poller_lease_seconds=1,
        chat_reply_coalesce_ms=COALESCE_MS,
    )


class Stop(Exception):
    """Ends a poller's loop in a test, at its n-th wait."""


@dataclass
class YouTubeStream:
    client: httpx.AsyncClient
    resources: Resources
    run_jobs: RunJobs
    youtube: FakeYouTube
    linked: links.Linked

    async def owner(self) -> dict[str, str]:
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

    async def go_live(self) -> Chat:
        chat = self.youtube.go_live(BROADCASTER)
        report = await youtube_service.check_live(self.resources, force=True)
        assert report["online"] == 1, report
        return chat

    async def poll(
        self, between: list[Callable[[], None]], *, pollers: ChatPollers | None = None
    ) -> list[float]:
        """Run the chat's poller: ``between[i]`` happens at its i-th wait; it stops at the
        wait after the last (or when the chat ends). The waits asked for."""
        waits: list[float] = []

        async def sleep(seconds: float) -> None:
            waits.append(seconds)
            if len(waits) > len(between):
                raise Stop()
            between[len(waits) - 1]()

        pollers = pollers or ChatPollers(self.resources, sleep=sleep)
        chat = await live_chat(self.resources.redis, BROADCASTER)
        assert chat is not None
        lease = pollers.lease(BROADCASTER)
        fence = await lease.acquire()
        assert fence is not None
        try:
            await pollers.poll(BROADCASTER, chat, lease, fence)
        except Stop:
            pass
        finally:
            await lease.release(fence)
        return waits


@pytest.fixture
async def stream(
    client: httpx.AsyncClient,
    resources: Resources,
    settings: Settings,
    run_jobs: RunJobs,
    fake_youtube: FakeYouTube,
) -> YouTubeStream:
    linked = await links.link_channel(
        resources, settings, fake_youtube, BROADCASTER, platform="youtube", scopes=[FORCE_SSL]
    )
    await links.link_bot(
        resources, settings, fake_youtube, BOT, platform="youtube", scopes=[FORCE_SSL]
    )
    return YouTubeStream(client, resources, run_jobs, fake_youtube, linked)


async def _chat_events(resources: Resources) -> list[str]:
    async with read_session(resources) as session:
        rows = await session.scalars(
            select(InboxEvent.external_id)
            .where(InboxEvent.source == "youtube", InboxEvent.event_type == "chat.message")
            .order_by(InboxEvent.id)
        )
        return list(rows)


async def _open_pool(stream: YouTubeStream) -> dict[str, object]:
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
        headers=await stream.owner(),
    )
    assert opened.status_code == 201, opened.text
    pool: dict[str, object] = opened.json()
    return pool


# -- live detection and chat ----------------------------------------------------------------------


async def test_a_youtube_chat_bet_lands_in_the_pool_and_is_answered_in_youtube_chat(
    stream: YouTubeStream,
) -> None:
    pool = await _open_pool(stream)
    chat = stream.youtube.go_live(BROADCASTER)
    # Said before the poller first looks: history, never run.
    old = stream.youtube.say(chat, "UCalice", "Alice", "!bet 2 999")
    await youtube_service.check_live(stream.resources, force=True)

    def viewers_bet() -> None:
        stream.youtube.say(chat, "UCalice", "Alice", "!bet 1 100")
        stream.youtube.say(chat, "UCbob", "Bob", "!bet no 250")

    waits = await stream.poll([viewers_bet, lambda: None])
    await stream.run_jobs()

    events = await _chat_events(stream.resources)
    assert old["id"] not in events
    assert len(events) == 2
    live = (await stream.client.get(f"/api/v1/pools/{pool['id']}")).json()
    assert [o["total"] for o in live["outcomes"]] == [100, 250]
    # At least YouTube's pollingIntervalMillis (2 s) between two polls.
    assert all(wait >= 2.0 for wait in waits), waits

    await asyncio.sleep(COALESCE_MS / 1000 + 0.05)
    await stream.run_jobs()
    # One coalesced message: the pool's announcement, which waited for the chat to go live
    # (opened before), and the bets (run in concurrent jobs: either order).
    [reply] = stream.youtube.inserted(chat, BOT)
    announced, bets = reply.split(" · ")
    assert announced == (
        f"Pool #{pool['id']} is open: Boss first try? 1) Yes 2) No — !bet <number> <amount>"
    )
    assert bets.endswith(" ✓")
    assert set(bets.removesuffix(" ✓").split(", ")) == {"@Alice 100 on Yes", "@Bob 250 on No"}
    # Units: the live check (5), three polls (15), one insert (20), all reserved first.
    state = await QuotaPlanner(stream.resources.settings, stream.resources.redis).state(
        datetime.now(UTC)
    )
    assert state.used == stream.youtube.units == 40


async def test_a_page_read_twice_runs_no_command_twice(stream: YouTubeStream) -> None:
    chat = await stream.go_live()
    await stream.poll([])  # the history page
    stream.youtube.say(chat, "UCalice", "Alice", "!balance")
    page = await stream.resources.redis.get(PAGE.format(chat=chat.live_chat_id))
    await stream.poll([])
    # As if the worker died before storing the page token: the same page again.
    await stream.resources.redis.set(PAGE.format(chat=chat.live_chat_id), page)
    await stream.poll([])
    assert len(await _chat_events(stream.resources)) == 1


async def test_offline_at_ends_the_poller_and_the_stream(stream: YouTubeStream) -> None:
    await stream.go_live()
    stream.youtube.go_offline(BROADCASTER)
    waits = await stream.poll([lambda: None] * 5)
    assert waits == []  # ended at once, without a wait
    assert await live_chat(stream.resources.redis, BROADCASTER) is None
    async with read_session(stream.resources) as session:
        kinds = list(
            await session.scalars(
                select(InboxEvent.event_type)
                .where(InboxEvent.source == "youtube")
                .order_by(InboxEvent.id)
            )
        )
    assert kinds == ["stream.online", "stream.offline"]


async def test_the_live_check_starts_once_per_broadcast(stream: YouTubeStream) -> None:
    await stream.go_live()
    again = await youtube_service.check_live(stream.resources, force=True)
    assert again["online"] == 0
    # Not due again before youtube_live_check_seconds, unless forced or hinted.
    assert (await youtube_service.check_live(stream.resources))["skipped"] == 1


# -- quota ----------------------------------------------------------------------------------------


async def test_quota_exceeded_pauses_polling_until_the_reset_and_tells_the_streamer(
    stream: YouTubeStream,
) -> None:
    await stream.go_live()
    await stream.poll([])
    stream.youtube.quota_exceeded = True
    calls = len(stream.youtube.requests)

    waits = await stream.poll([lambda: None])

    # One refused call, then no more calls: waiting for the reset (a minute at a time).
    assert len(stream.youtube.requests) == calls + 1
    assert waits and waits[0] > 0
    planner = QuotaPlanner(stream.resources.settings, stream.resources.redis)
    assert (await planner.state(datetime.now(UTC))).exhausted
    assert not await planner.reserve(5, datetime.now(UTC))
    reason = await stream.resources.redis.get(PAUSED.format(channel=BROADCASTER))
    assert reason is not None and "quota" in reason
    async with read_session(stream.resources) as session:
        notices = list(
            await session.scalars(
                select(Notification.kind).where(Notification.channel_id == stream.linked.channel_id)
            )
        )
    assert notices == ["youtube.quota_paused"]  # once, however many polls were refused


# -- WebSub ---------------------------------------------------------------------------------------


async def test_the_hubs_verification_is_answered_with_the_raw_challenge(
    stream: YouTubeStream,
) -> None:
    params = {
        "hub.mode": "subscribe",
        "hub.topic": websub.topic(BROADCASTER),
        "hub.challenge": "a-challenge-1234",
        "hub.lease_seconds": "432000",
    }
    answer = await stream.client.get(f"/webhooks/youtube/websub/{BROADCASTER}", params=params)
    assert answer.status_code == 200
    assert answer.text == "a-challenge-1234"
    assert await stream.resources.redis.exists(f"youtube:websub:{BROADCASTER}")

    other = {**params, "hub.topic": websub.topic("UCsomeoneelse")}
    refused = await stream.client.get(f"/webhooks/youtube/websub/{BROADCASTER}", params=other)
    assert refused.status_code == 404
    unknown = await stream.client.get(
        "/webhooks/youtube/websub/UCsomeoneelse",
        params={**params, "hub.topic": websub.topic("UCsomeoneelse")},
    )
    assert unknown.status_code == 404


def _atom(channel: str, video: str = "dQw4w9WgXcQ") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<feed xmlns:yt="http://www.youtube.com/xml/schemas/2015"'
        ' xmlns="http://www.w3.org/2005/Atom"><entry>'
        f"<id>yt:video:{video}</id><yt:videoId>{video}</yt:videoId>"
        f"<yt:channelId>{channel}</yt:channelId><title>Live</title>"
        "</entry></feed>"
    ).encode()


async def test_a_signed_push_makes_the_live_check_look_now_and_a_forged_one_is_ignored(
    stream: YouTubeStream,
) -> None:
    redis = stream.resources.redis
    await stream.go_live()  # checked: not due again for a while
    assert await redis.exists(CHECKED.format(channel=BROADCASTER))
    body = _atom(BROADCASTER)
    secret = websub.subscription_secret(WEBSUB_SECRET, BROADCASTER)
    url = f"/webhooks/youtube/websub/{BROADCASTER}"

    forged_secret = "sha1=" + hmac.new(b"another secret", body, hashlib.sha1).hexdigest()
    for headers, content in (
        ({"X-Hub-Signature": forged_secret}, body),
        ({"X-Hub-Signature": websub.signature(secret, body)}, body + b" "),
        ({}, body),
    ):
        ignored = await stream.client.post(url, content=content, headers=headers)
        assert ignored.status_code == 202  # 2xx, as WebSub asks, and nothing done
        assert await redis.exists(CHECKED.format(channel=BROADCASTER))

    signed = await stream.client.post(
        url, content=body, headers={"X-Hub-Signature": websub.signature(secret, body)}
    )
    assert signed.status_code == 202
    assert not await redis.exists(CHECKED.format(channel=BROADCASTER))
    looks = len([r for r in stream.youtube.requests if r[1] == "liveBroadcasts"])
    await stream.run_jobs()  # the look the hint queued
    assert len([r for r in stream.youtube.requests if r[1] == "liveBroadcasts"]) == looks + 1


# -- leases ---------------------------------------------------------------------------------------


async def test_one_worker_polls_a_chat_and_another_takes_over_when_it_dies(
    stream: YouTubeStream,
) -> None:
    await stream.go_live()
    first = ChatPollers(stream.resources, owner="worker-a")
    second = ChatPollers(stream.resources, owner="worker-b")
    # worker-a's lease, as a process that then dies (never renewed, never released).
    dead = first.lease(BROADCASTER)
    stale = await dead.acquire()
    assert stale is not None
    assert await second.tick() == []  # held: not polled twice

    await asyncio.sleep(stream.resources.settings.youtube_poller_lease_seconds + 0.2)
    try:
        assert await second.tick() == [BROADCASTER]
        assert await second.tick() == []  # already polling it
    finally:
        await second.stop()

    # The dead owner's fencing token no longer writes anything.
    chat = await live_chat(stream.resources.redis, BROADCASTER)
    assert chat is not None
    stream.youtube.say(stream.youtube.chats[chat.live_chat_id], "UCalice", "Alice", "!balance")
    before = await stream.resources.redis.get(PAGE.format(chat=chat.live_chat_id))
    taken = await first.lease(BROADCASTER).acquire()  # someone holds it now
    assert taken is not None and taken > stale

    async def no_sleep(_seconds: float) -> None:
        raise Stop()

    stale_poller = ChatPollers(stream.resources, owner="worker-a", sleep=no_sleep)
    await stale_poller.poll(BROADCASTER, chat, dead, stale)
    assert await stream.resources.redis.get(PAGE.format(chat=chat.live_chat_id)) == before
    assert await _chat_events(stream.resources) == []


async def test_a_spent_budget_pauses_polling_without_a_call_and_tells_the_streamer(
    stream: YouTubeStream, settings: Settings
) -> None:
    await stream.go_live()  # 5 units
    settings.youtube_quota_units_per_day = 109
    settings.youtube_quota_reserve_units = 100  # kept for replies: no poll fits
    calls = len(stream.youtube.requests)

    waits = await stream.poll([lambda: None])

    assert len(stream.youtube.requests) == calls  # never asked Google
    assert waits[0] == 60.0  # looks again in a minute (the reset is further off)
    async with read_session(stream.resources) as session:
        notices = list(
            await session.scalars(
                select(Notification.kind).where(Notification.channel_id == stream.linked.channel_id)
            )
        )
    assert notices == ["youtube.quota_paused"]


async def test_going_live_on_youtube_opens_the_automations_pool_once(
    stream: YouTubeStream,
) -> None:
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

    await stream.go_live()
    await youtube_service.check_live(stream.resources, force=True)  # looked at again: once
    await stream.run_jobs()
    pools = (await stream.client.get(f"/api/v1/channels/{channel_id}/pools")).json()["pools"]
    assert [(p["title"], p["status"]) for p in pools] == [("Boss first try?", "open")]
