"""One channel streamed to Twitch, Kick and YouTube at once, every step through each platform's
real entry point (signed EventSub and Kick deliveries, the YouTube live check and chat poller):
going live on three platforms opens one pool, announced in the three chats; viewers bet from
each chat and from the web into the same totals; Twitch ending early leaves the pool open; a
lock from Kick's chat is told everywhere; one settlement pays everyone, each chat hears the
winners by the names it knows. A viewer who chatted on Twitch and on YouTube signs in with
Twitch and links Google: one account, one wallet, every unit of both identities in it. The
ledger check runs after (autouse)."""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from app.channel.service import channel_service
from app.chat.service import chat_service
from app.kit.currency import points
from app.kit.resources import Resources
from app.kit.uow import unit_of_work
from app.ledger.service import ledger_service
from app.models.channel import Platform
from app.models.platform import PlatformAccount, TokenPurpose
from app.platform.service import platform_identity_service
from app.settings import Settings
from app.stream.youtube import ChatPollers, youtube_service
from app.stream.youtube_chat import live_chat
from tests.conftest import RunJobs
from tests.factories import (
    DEFAULT_PASSWORD,
    bearer,
    create_channel,
    create_platform_account,
    create_user,
    register,
)
from tests.fakes.kick import FakeKick
from tests.fakes.kick import objects as kick_objects
from tests.fakes.twitch import FakeTwitch, signing
from tests.fakes.twitch import objects as twitch_objects
from tests.fakes.youtube import FakeYouTube
from tests.fakes.youtube.server import FORCE_SSL, Chat
from tests.platform.conftest import sign_in_with_twitch as sign_in_with
from tests.stream import twitch as links

SECRET = "eventsub-secret-for-tests"
TWITCH = "141981764"
KICK = "4242"
YOUTUBE = "UCmultistream0000000000a"
BOTS = {"twitch": "990001", "kick": "990002", "youtube": "UCpoolsbot0000000000000b"}
COALESCE_MS = 200
SIGNUP = Settings().points_signup_grant


@pytest.fixture
def settings(
    database_url: str,
    redis_url: str,
    fake_twitch: FakeTwitch,
    fake_kick: FakeKick,
    fake_youtube: FakeYouTube,
) -> Settings:
    return fake_kick.settings(
        database_url,
        redis_url,
        twitch_eventsub_secret=SecretStr(SECRET),
        twitch_client_id=fake_twitch.client_id,
        twitch_client_secret=SecretStr(fake_twitch.client_secret),
        twitch_api_base=fake_twitch.helix_url,
        twitch_id_base=fake_twitch.id_url,
        youtube_client_id=fake_youtube.client_id,
        youtube_client_secret=SecretStr(fake_youtube.client_secret),
        google_oauth_base=fake_youtube.url,
        google_accounts_base=fake_youtube.url,
        youtube_api_base=fake_youtube.api_url,
        youtube_poller_lease_seconds=1,
        chat_reply_coalesce_ms=COALESCE_MS,
    )


class Stop(Exception):
    """Ends the YouTube poller's loop at its last wait."""


@dataclass
class Multistream:
    client: httpx.AsyncClient
    resources: Resources
    run_jobs: RunJobs
    twitch: FakeTwitch
    kick: FakeKick
    youtube: FakeYouTube
    channel_id: int
    owner: dict[str, str]

    async def twitch_event(self, kind: str, event: twitch_objects.JsonObject) -> None:
        condition = {"broadcaster_user_id": TWITCH}
        if kind == "channel.chat.message":
            condition["user_id"] = BOTS["twitch"]
        subscription = twitch_objects.subscription(kind, condition, {"method": "webhook"})
        delivery = signing.notification(subscription, event, SECRET)
        answer = await self.client.post(
            "/webhooks/twitch", content=delivery.body, headers=delivery.headers
        )
        assert answer.status_code == 200, answer.text

    async def twitch_say(self, chatter: str, login: str, text: str) -> None:
        event = twitch_objects.chat_message_event(
            TWITCH, "streamer", chatter_id=chatter, chatter_login=login, text=text
        )
        await self.twitch_event("channel.chat.message", event)

    async def kick_event(self, kind: str, event: kick_objects.JsonObject) -> None:
        delivery = self.kick.delivery(kind, event)
        answer = await self.client.post(
            "/webhooks/kick", content=delivery.body, headers=delivery.headers
        )
        assert answer.status_code == 200, answer.text

    async def kick_say(self, sender: int, name: str, text: str) -> None:
        event = kick_objects.chat_message_event(
            int(KICK), "Streamer", sender_id=sender, sender=name, content=text
        )
        await self.kick_event("chat.message.sent", event)

    async def youtube_chat(self, between: list[Callable[[], None]]) -> None:
        """The YouTube chat's poller reads its history, then ``between[i]`` is said before
        its i+1-th page; it stops after the last."""
        waits = 0

        async def sleep(_: float) -> None:
            nonlocal waits
            waits += 1
            if waits > len(between):
                raise Stop()
            between[waits - 1]()

        pollers = ChatPollers(self.resources, sleep=sleep)
        chat = await live_chat(self.resources.redis, YOUTUBE)
        assert chat is not None
        lease = pollers.lease(YOUTUBE)
        fence = await lease.acquire()
        assert fence is not None
        try:
            await pollers.poll(YOUTUBE, chat, lease, fence)
        except Stop:
            pass
        finally:
            await lease.release(fence)

    async def said(self, chat: Chat) -> dict[str, list[str]]:
        """Wait out the coalescing window, flush the bots' replies, and return what each chat
        heard, line by line however the lines were grouped in messages."""
        await self.run_jobs()
        await asyncio.sleep(COALESCE_MS / 1000 + 0.05)
        await self.run_jobs()
        messages = {
            "twitch": [str(m["message"]) for m in self.twitch.chat_messages],
            "kick": [str(m["content"]) for m in self.kick.chat_messages],
            "youtube": self.youtube.inserted(chat, BOTS["youtube"]),
        }
        return {
            where: " · ".join(said).split(" · ") if said else [] for where, said in messages.items()
        }

    async def pools(self) -> list[dict[str, Any]]:
        answer = await self.client.get(f"/api/v1/channels/{self.channel_id}/pools")
        assert answer.status_code == 200, answer.text
        return list(answer.json()["pools"])

    async def balance(self, platform: Platform, platform_user_id: str) -> int:
        async with unit_of_work(self.resources) as session:
            user_id = await session.scalar(
                select(PlatformAccount.user_id).where(
                    PlatformAccount.platform == platform,
                    PlatformAccount.platform_user_id == platform_user_id,
                )
            )
            assert user_id is not None
            wallet = await ledger_service.wallet(session, user_id, points(self.channel_id))
            return await ledger_service.balance(session, wallet)


@pytest.fixture
async def multistream(
    client: httpx.AsyncClient,
    resources: Resources,
    settings: Settings,
    run_jobs: RunJobs,
    fake_twitch: FakeTwitch,
    fake_kick: FakeKick,
    fake_youtube: FakeYouTube,
) -> Multistream:
    """A streamer whose channel is linked (by its owner, verified) to a Twitch, a Kick and a
    YouTube channel, each platform's bot linked by an admin."""
    fakes: dict[str, links.FakePlatform] = {
        "twitch": fake_twitch,
        "kick": fake_kick,
        "youtube": fake_youtube,
    }
    ids = {"twitch": TWITCH, "kick": KICK, "youtube": YOUTUBE}
    scopes = {"twitch": links.PREDICTIONS, "kick": links.KICK_BROADCASTER, "youtube": [FORCE_SSL]}
    async with unit_of_work(resources) as session:
        owner = await create_user(session, settings, display_name="Streamer")
        channel = await create_channel(session, owner.id)
        accounts = {}
        for platform, platform_user_id in ids.items():
            fakes[platform].add_user(platform_user_id, "streamer")
            accounts[platform] = await create_platform_account(
                session, owner.id, platform=platform, platform_user_id=platform_user_id
            )
            await channel_service.link_verified(session, channel, accounts[platform])
        assert owner.email is not None
        email = owner.email
    for platform, account in accounts.items():
        await links.grant(
            resources,
            settings,
            fakes[platform],
            account,
            TokenPurpose.broadcaster,
            scopes[platform],
        )
        bot_scopes = [FORCE_SSL] if platform == "youtube" else None
        await links.link_bot(
            resources,
            settings,
            fakes[platform],
            BOTS[platform],
            platform=platform,
            scopes=bot_scopes,
        )
    await run_jobs()  # what linking queued (subscriptions, live checks)
    signed_in = await client.post(
        "/api/v1/auth/login", json={"email": email, "password": DEFAULT_PASSWORD}
    )
    assert signed_in.status_code == 200, signed_in.text
    owner_headers = bearer(signed_in.json()["access_token"])
    return Multistream(
        client,
        resources,
        run_jobs,
        fake_twitch,
        fake_kick,
        fake_youtube,
        channel.id,
        owner_headers,
    )


async def test_one_pool_across_twitch_kick_and_youtube_from_go_live_to_the_winners(
    multistream: Multistream, settings: Settings
) -> None:
    ms, client = multistream, multistream.client
    # The streamer's setup over REST: a template and two automations.
    template = await client.post(
        f"/api/v1/channels/{ms.channel_id}/templates",
        json={"name": "first-try", "title": "Boss first try?", "outcomes": ["Yes", "No"]},
        headers=ms.owner,
    )
    assert template.status_code == 201, template.text
    for rule in (
        {"kind": "stream_online", "template_id": template.json()["id"]},
        {"kind": "stream_offline", "offline_action": "lock"},
    ):
        created = await client.post(
            f"/api/v1/channels/{ms.channel_id}/automations", json=rule, headers=ms.owner
        )
        assert created.status_code == 201, created.text

    # The stream goes live on the three platforms, a few seconds apart: one pool.
    started = datetime.now(UTC).replace(microsecond=0)
    await ms.twitch_event(
        "stream.online", twitch_objects.stream_online_event(TWITCH, "streamer", stream_id="t-77")
    )
    await ms.run_jobs()
    await ms.kick_event(
        "livestream.status.updated",
        kick_objects.livestream_status_event(
            int(KICK), "Streamer", is_live=True, started_at=started
        ),
    )
    chat = ms.youtube.go_live(YOUTUBE)
    await youtube_service.check_live(ms.resources, force=True)
    await ms.run_jobs()
    [pool] = await ms.pools()
    assert pool["status"] == "open"
    pool_id = pool["id"]
    opened = f"Pool #{pool_id} is open: Boss first try? 1) Yes 2) No — !bet <number> <amount>"
    assert await ms.said(chat) == {"twitch": [opened], "kick": [opened], "youtube": [opened]}

    # Bets from the three chats and the web, into the same pool. Vic chats on Twitch and on
    # YouTube: two chat-only viewers until Vic signs in.
    await ms.twitch_say("701", "ann", "!bet 1 300")
    await ms.twitch_say("705", "vic", "!bet yes 150")
    await ms.kick_say(702, "Ben", "!bet 2 200")

    def youtube_viewers_bet() -> None:
        ms.youtube.say(chat, "UCyuki0000000000000000ya", "Yuki", "!bet 1 100")
        ms.youtube.say(chat, "UCvic00000000000000000va", "Vic", "!bet 1 50")

    await ms.youtube_chat([youtube_viewers_bet, lambda: None])
    web = await register(client, display_name="Web")
    web_headers = bearer(web["access_token"])
    joined = await client.post(f"/api/v1/channels/{ms.channel_id}/join", headers=web_headers)
    assert joined.status_code == 200, joined.text
    outcomes = [o["id"] for o in pool["outcomes"]]
    bet = await client.post(
        f"/api/v1/pools/{pool_id}/bets",
        json={"outcome_id": outcomes[1], "amount": 400},
        headers={**web_headers, "Idempotency-Key": "web-bet-1"},
    )
    assert bet.status_code == 201, bet.text
    await ms.run_jobs()
    live = (await client.get(f"/api/v1/pools/{pool_id}")).json()
    assert [o["total"] for o in live["outcomes"]] == [300 + 150 + 100 + 50, 200 + 400]
    # The channel's one chat shows the three platforms' messages.
    merged = await chat_service.history(ms.resources.redis, ms.channel_id)
    assert {(m.platform, m.text) for m in merged} >= {
        ("twitch", "!bet 1 300"),
        ("kick", "!bet 2 200"),
        ("youtube", "!bet 1 100"),
    }

    # Twitch ends first: the stream goes on on Kick and YouTube, the pool stays open.
    await ms.twitch_event("stream.offline", twitch_objects.stream_offline_event(TWITCH, "streamer"))
    await ms.run_jobs()
    assert [p["status"] for p in await ms.pools()] == ["open"]

    # Vic signs in with Twitch (the Twitch chat-only account becomes theirs) and links Google:
    # the YouTube chat-only account merges into it.
    ms.twitch.add_user("705", "vic")
    ms.youtube.add_user("UCvic00000000000000000va", "Vic")
    vic = await sign_in_with(client, ms.twitch, "705")
    assert vic.status_code == 200, vic.text
    vic_headers = bearer(vic.json()["session"]["access_token"])
    linked = await sign_in_with(
        client,
        ms.youtube,
        "UCvic00000000000000000va",
        "link_account",
        auth=vic_headers,
        platform=Platform.youtube,
    )
    assert linked.status_code == 200, linked.text
    both = (SIGNUP - 150) + (SIGNUP - 50)
    assert await ms.balance(Platform.twitch, "705") == both
    assert await ms.balance(Platform.youtube, "UCvic00000000000000000va") == both  # the same

    # The broadcaster locks it from Kick's chat; all three chats are told.
    await ms.kick_say(int(KICK), "Streamer", "!lock")
    await ms.run_jobs()
    locked = f"Pool #{pool_id} is locked: no more bets."
    said = await ms.said(chat)
    assert all(lines[-1] == locked for lines in said.values()), said

    # Resolved from the dashboard; one settlement; each chat hears the winners.
    resolved = await client.post(
        f"/api/v1/pools/{pool_id}/resolve", json={"outcome_id": outcomes[0]}, headers=ms.owner
    )
    assert resolved.status_code == 200, resolved.text
    await ms.run_jobs()  # settlement, then the announcements
    said = await ms.said(chat)
    result = f"Pool #{pool_id} (Boss first try?): Yes won! Winners: "
    # Twice the stake each (600 on each side), Vic once for both identities; named as each chat
    # knows them.
    assert said["twitch"][-1] == result + "@Ann +600, @Vic +400, @Yuki +200"
    assert said["kick"][-1] == said["twitch"][-1]
    assert said["youtube"][-1] == said["twitch"][-1]
    bets_said = {
        where: sorted(
            bet
            for line in lines
            if line.endswith(" ✓")
            for bet in line.removesuffix(" ✓").split(", ")
        )
        for where, lines in said.items()
    }
    assert bets_said == {
        "twitch": ["@Ann 300 on Yes", "@Vic 150 on Yes"],
        "kick": ["@Ben 200 on No"],
        "youtube": ["@Vic 50 on Yes", "@Yuki 100 on Yes"],
    }

    # What the YouTube chat-only account won after its merge is swept to Vic's account.
    async with unit_of_work(ms.resources) as session:
        await platform_identity_service.sweep_merged(session)
    assert await ms.balance(Platform.twitch, "701") == SIGNUP - 300 + 600
    assert await ms.balance(Platform.kick, "702") == SIGNUP - 200
    assert await ms.balance(Platform.youtube, "UCyuki0000000000000000ya") == SIGNUP - 100 + 200
    assert await ms.balance(Platform.twitch, "705") == both + 300 + 100
    wallets = (await client.get("/api/v1/me/wallets", headers=vic_headers)).json()["wallets"]
    assert [int(w["balance"]) for w in wallets if w["currency"] == points(ms.channel_id)] == [
        both + 400
    ]
    web_wallets = (await client.get("/api/v1/me/wallets", headers=web_headers)).json()["wallets"]
    assert [int(w["balance"]) for w in web_wallets if w["currency"] == points(ms.channel_id)] == [
        SIGNUP - 400
    ]

    # The stream ends on Kick, then YouTube: the session ends, nothing is left open.
    await ms.kick_event(
        "livestream.status.updated",
        kick_objects.livestream_status_event(
            int(KICK), "Streamer", is_live=False, started_at=started, ended_at=datetime.now(UTC)
        ),
    )
    ms.youtube.go_offline(YOUTUBE)
    await youtube_service.check_live(ms.resources, force=True)
    await ms.run_jobs()
    assert [p["status"] for p in await ms.pools()] == ["settled"]
