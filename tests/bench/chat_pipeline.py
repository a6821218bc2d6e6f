"""Platforms benchmark, the chat pipeline's part: `!bet` commands from Twitch, Kick and YouTube
chat into one channel linked (verified) to all three, each through its real entry point, until
the bet is placed; beside the same bets over REST."""

import asyncio
import contextlib
import re
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Final, Self

import aiohttp
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.channel.permissions import channel_or_404
from app.channel.service import channel_service
from app.command.replies import pending_key
from app.kit.resources import Resources, open_resources
from app.kit.uow import unit_of_work
from app.models.platform import TokenPurpose
from app.settings import Settings
from app.stream.youtube import PAGE, youtube_service
from tests.bench import report
from tests.bench.background import start_integrations, start_worker
from tests.bench.stack import (
    Stack,
    children,
    cpu_seconds,
    machine_busy_seconds,
    start_web,
    web_processes,
)
from tests.bench.world import World, bench_settings, build_world
from tests.factories import create_platform_account
from tests.fakes.delivery import Delivery
from tests.fakes.kick import FakeKick
from tests.fakes.kick import objects as kick_objects
from tests.fakes.kick.signing import new_key
from tests.fakes.twitch import FakeTwitch, notification
from tests.fakes.twitch import objects as twitch_objects
from tests.fakes.youtube import FakeYouTube
from tests.fakes.youtube.server import FORCE_SSL, Chat
from tests.stream.twitch import BOT_SCOPES, grant, link_bot
from tests.stream.twitch import KICK_BOT as KICK_BOT_SCOPES

#: Commands a second from each platform in the fixed-rate phase, for this many seconds; the
#: flat-out phase offers as many again.
RATE: Final = 15
SECONDS: Final = 20
#: Webhook deliveries in flight at once per platform, flat out (REST: both platforms' worth).
IN_FLIGHT: Final = 16
#: Commands per platform before the measuring, from chatters of their own (and REST bets).
WARM_UP: Final = 10
#: How long the bets of a phase may take to land after its last offer.
LAND_WITHIN: Final = 60.0
#: How often the database is asked which bets were placed (the latency's resolution).
POLL_SECONDS: Final = 0.02
#: A Cloud project with a quota increase: polling at YouTube's pace, not stretched by the
#: planner over the default 10,000 units (the planner's own part measures that).
YOUTUBE_QUOTA: Final = 1_000_000
#: Sent in replies: one line per bet ("@name 10 on Yes").
_CONFIRMED = re.compile(r"@\S+ [\d,]+ on ")

EVENTSUB_SECRET: Final = "bench-eventsub-secret"
TWITCH_BROADCASTER: Final = "141981764"
TWITCH_BOT: Final = "990001"
KICK_BROADCASTER: Final = "4377088"
KICK_BOT: Final = "990002"
YOUTUBE_CHANNEL: Final = "UCbenchstreamer000000000a"
YOUTUBE_BOT: Final = "UCbenchpoolsbot000000000b"
PLATFORMS: Final = ("twitch", "kick", "youtube")
NAMES: Final = {"twitch": "Twitch", "kick": "Kick", "youtube": "YouTube"}

EXPLANATION = """
One channel is linked (verified) to a Twitch, a Kick and a YouTube channel, with a chat bot on
each. Web ({web}), the arq worker and the integrations process (YouTube's chat pollers) run as
`make run` starts them, against the fakes of the three platforms. Chatters send `!bet #<pool> 1 10`: Twitch's
as signed EventSub channel.chat.message notifications POSTed to /webhooks/twitch, Kick's as
chat.message.sent deliveries RSA-signed with a key whose public half is configured, POSTed to
/webhooks/kick, YouTube's written in the fake live chat that the poller reads (every
{interval:g} s: YouTube's pollingIntervalMillis and STREAMPOOLS_YOUTUBE_MIN_POLL_SECONDS, on a
project with a raised quota). Each bet is timed from its delivery (the POST's due time; the
moment the message is written in the YouTube chat) until the bench sees it placed in the
database (bet_placements, read every {poll_ms:g} ms).

Fixed rate: {rate} commands/s from each platform for {seconds} s, from new chatters (each first
bet also creates the chatter's chat-only account). Flat out: the same chatters bet again on a
second pool, {in_flight} deliveries in flight per webhook, YouTube's all written at once; the
rate is the bets placed over the time from the first offer to the last bet placed. Replies: what
the bots said in each platform's fake chat by the end (coalesced; at most
STREAMPOOLS_CHAT_REPLIES_PER_WINDOW messages per window per chat, the rest wait or age out).

The reference is the same bets placed over REST (POST /api/v1/pools/{{id}}/bets) by signed-in
users, at the three platforms' total rate, then flat out with {rest_in_flight} in flight (both
webhooks' worth), timed the same way: the path without the platform pipeline. Target: chat
commands flat out at least half REST's rate. The fakes, the senders and the database reads run
in the bench's own process on the same cores as the servers.
"""


# --- who chats, and how each platform's chat reaches the platform --------------------------------


@dataclass(frozen=True)
class Fakes:
    twitch: FakeTwitch
    kick: FakeKick
    youtube: FakeYouTube

    def env(self) -> dict[str, str]:
        """The settings of the web and worker processes, pointed at the fakes."""
        return {
            "STREAMPOOLS_DEMO_ENABLED": "false",
            "STREAMPOOLS_TWITCH_EVENTSUB_SECRET": EVENTSUB_SECRET,
            "STREAMPOOLS_TWITCH_CLIENT_ID": self.twitch.client_id,
            "STREAMPOOLS_TWITCH_CLIENT_SECRET": self.twitch.client_secret,
            "STREAMPOOLS_TWITCH_API_BASE": self.twitch.helix_url,
            "STREAMPOOLS_TWITCH_ID_BASE": self.twitch.id_url,
            "STREAMPOOLS_KICK_CLIENT_ID": self.kick.client_id,
            "STREAMPOOLS_KICK_CLIENT_SECRET": self.kick.client_secret,
            "STREAMPOOLS_KICK_API_BASE": self.kick.url,
            "STREAMPOOLS_KICK_ID_BASE": self.kick.url,
            "STREAMPOOLS_KICK_PUBLIC_KEY": self.kick.public_key,
            "STREAMPOOLS_YOUTUBE_CLIENT_ID": self.youtube.client_id,
            "STREAMPOOLS_YOUTUBE_CLIENT_SECRET": self.youtube.client_secret,
            "STREAMPOOLS_YOUTUBE_API_BASE": self.youtube.api_url,
            "STREAMPOOLS_GOOGLE_OAUTH_BASE": self.youtube.url,
            "STREAMPOOLS_GOOGLE_ACCOUNTS_BASE": self.youtube.url,
            "STREAMPOOLS_YOUTUBE_QUOTA_UNITS_PER_DAY": str(YOUTUBE_QUOTA),
        }

    def settings(self, stack: Stack) -> Settings:
        """The same settings in the bench's own process (links, grants, the live check)."""
        return bench_settings(stack).model_copy(
            update={
                "twitch_eventsub_secret": SecretStr(EVENTSUB_SECRET),
                "twitch_client_id": self.twitch.client_id,
                "twitch_client_secret": SecretStr(self.twitch.client_secret),
                "twitch_api_base": self.twitch.helix_url,
                "twitch_id_base": self.twitch.id_url,
                "kick_client_id": self.kick.client_id,
                "kick_client_secret": SecretStr(self.kick.client_secret),
                "kick_api_base": self.kick.url,
                "kick_id_base": self.kick.url,
                "kick_public_key": self.kick.public_key,
                "youtube_client_id": self.youtube.client_id,
                "youtube_client_secret": SecretStr(self.youtube.client_secret),
                "youtube_api_base": self.youtube.api_url,
                "google_oauth_base": self.youtube.url,
                "google_accounts_base": self.youtube.url,
                "youtube_quota_units_per_day": YOUTUBE_QUOTA,
            }
        )


@contextlib.asynccontextmanager
async def running_fakes(kick_key: RSAPrivateKey | None = None) -> AsyncIterator[Fakes]:
    """The three platforms' fakes on loopback ports, in this process."""
    async with (
        FakeTwitch() as twitch,
        FakeKick(key=kick_key or new_key()) as kick,
        FakeYouTube() as youtube,
    ):
        yield Fakes(twitch, kick, youtube)


async def link_platforms(
    resources: Resources, settings: Settings, world: World, fakes: Fakes
) -> None:
    """The world's channel linked (verified, as its owner's OAuth leaves it) to a channel on
    each platform, a chat bot linked on each, and YouTube's broadcaster grant (its chat is read
    with it)."""
    async with unit_of_work(resources) as session:
        channel = await channel_or_404(session, world.channel_id)
        accounts = {}
        for platform, external in (
            ("twitch", TWITCH_BROADCASTER),
            ("kick", KICK_BROADCASTER),
            ("youtube", YOUTUBE_CHANNEL),
        ):
            account = await create_platform_account(
                session,
                channel.owner_id,
                platform=platform,
                platform_user_id=external,
                login="streamer",
            )
            await channel_service.link_verified(session, channel, account)
            accounts[platform] = account
    fakes.twitch.add_user(TWITCH_BROADCASTER, "streamer")
    fakes.kick.add_user(KICK_BROADCASTER, "streamer")
    fakes.youtube.add_user(YOUTUBE_CHANNEL, "Streamer")
    await grant(
        resources,
        settings,
        fakes.youtube,
        accounts["youtube"],
        TokenPurpose.broadcaster,
        [FORCE_SSL],
    )
    await link_bot(resources, settings, fakes.twitch, TWITCH_BOT, scopes=BOT_SCOPES)
    await link_bot(
        resources, settings, fakes.kick, KICK_BOT, platform="kick", scopes=KICK_BOT_SCOPES
    )
    await link_bot(
        resources, settings, fakes.youtube, YOUTUBE_BOT, platform="youtube", scopes=[FORCE_SSL]
    )


def bet_key(platform: str, message_id: str) -> str:
    """The idempotency key a chat bet is placed under (``app.command.service.chat_bet_key``)."""
    return f"{platform}:chat:{message_id}"


#: Offers command number n; the key of its bet once delivered, None when refused.
Send = Callable[[int], Awaitable[str | None]]


def twitch_delivery(n: int, pool_id: int) -> tuple[str, Delivery]:
    """Chatter n's `!bet` as Twitch's EventSub notification, signed."""
    subscription = twitch_objects.subscription(
        "channel.chat.message",
        {"broadcaster_user_id": TWITCH_BROADCASTER, "user_id": TWITCH_BOT},
        {"method": "webhook", "callback": "https://example.com/webhooks/twitch"},
    )
    event = twitch_objects.chat_message_event(
        TWITCH_BROADCASTER,
        "streamer",
        chatter_id=str(700_000 + n),
        chatter_login=f"tw{n}",
        text=f"!bet #{pool_id} 1 10",
    )
    delivery = notification(subscription, event, EVENTSUB_SECRET)
    return bet_key("twitch", str(event["message_id"])), delivery


def kick_delivery(kick: FakeKick, n: int, pool_id: int) -> tuple[str, Delivery]:
    """Chatter n's `!bet` as Kick's chat.message.sent delivery, signed with Kick's key."""
    event = kick_objects.chat_message_event(
        int(KICK_BROADCASTER),
        "Streamer",
        sender_id=800_000 + n,
        sender=f"Kk{n}",
        content=f"!bet #{pool_id} 1 10",
    )
    return bet_key("kick", str(event["message_id"])), kick.delivery("chat.message.sent", event)


def webhook(http: aiohttp.ClientSession, url: str, deliveries: list[tuple[str, Delivery]]) -> Send:
    """Posts delivery n (signed beforehand: the senders' work stays off the server's cores)."""

    async def send(n: int) -> str | None:
        key, delivery = deliveries[n]
        try:
            async with http.post(url, data=delivery.body, headers=delivery.headers) as response:
                await response.read()
                return key if response.status == 200 else None
        except aiohttp.ClientError:
            return None

    return send


def youtube_chat(youtube: FakeYouTube, chat: Chat, pool_id: int, first: int = 0) -> Send:
    """Chatter first+n writes `!bet` in the live chat (the poller reads it)."""

    async def send(n: int) -> str | None:
        number = first + n
        message = youtube.say(
            chat, f"UCviewer{number:016d}", f"Yt{number}", f"!bet #{pool_id} 1 10"
        )
        return bet_key("youtube", str(message["id"]))

    return send


def rest(http: aiohttp.ClientSession, url: str, world: World, pool: int, phase: str) -> Send:
    """Bettor n places the same bet over REST, signed in."""
    pool_id, outcomes = world.pools[pool]

    async def send(n: int) -> str | None:
        _, token = world.bettors[n]
        key = f"rest:{phase}:{n}"
        try:
            async with http.post(
                f"{url}/api/v1/pools/{pool_id}/bets",
                json={"outcome_id": outcomes[0], "amount": 10},
                headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
            ) as response:
                await response.read()
                return key if response.status == 201 else None
        except aiohttp.ClientError:
            return None

    return send


# --- offering and timing -------------------------------------------------------------------------


@dataclass
class Offer:
    """One source's commands in one phase: when each was offered, by its bet's key."""

    label: str
    count: int
    started: float = 0.0
    sent: dict[str, float] = field(default_factory=dict)
    failures: int = 0

    def latencies_ms(self, seen: dict[str, float]) -> list[float]:
        return [(seen[key] - at) * 1000 for key, at in self.sent.items() if key in seen]

    def landed(self, seen: dict[str, float]) -> int:
        return sum(1 for key in self.sent if key in seen)

    def last_landed(self, seen: dict[str, float]) -> float | None:
        times = [seen[key] for key in self.sent if key in seen]
        return max(times) if times else None

    def rate(self, seen: dict[str, float]) -> float:
        """Bets placed a second, from the first offer to the last bet placed."""
        last = self.last_landed(seen)
        return self.landed(seen) / (last - self.started) if last and last > self.started else 0.0

    def percentile(self, seen: dict[str, float], fraction: float) -> float:
        return report.percentile(self.latencies_ms(seen), fraction)


async def at_rate(label: str, send: Send, count: int, rate: float, start: float) -> Offer:
    """Command n offered at ``start + n / rate`` (open loop: a slow entry point is charged from
    the time each was due)."""
    offer = Offer(label, count, start)

    async def one(n: int) -> None:
        due = start + n / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        key = await send(n)
        if key is None:
            offer.failures += 1
        else:
            offer.sent[key] = due

    await asyncio.gather(*(one(n) for n in range(count)))
    return offer


async def flat_out(label: str, send: Send, count: int, in_flight: int, start: float) -> Offer:
    """``count`` commands, ``in_flight`` at a time, each as soon as a lane is free."""
    offer = Offer(label, count, start)
    numbers = iter(range(count))
    await asyncio.sleep(max(0.0, start - time.perf_counter()))

    async def lane() -> None:
        for n in numbers:
            at = time.perf_counter()
            key = await send(n)
            if key is None:
                offer.failures += 1
            else:
                offer.sent[key] = at

    await asyncio.gather(*(lane() for _ in range(in_flight)))
    return offer


class Landings:
    """When the bench first saw each bet placed: the ``bet_placements`` rows (committed) of the
    bets offered and not seen yet, looked up by idempotency key every POLL_SECONDS. (Not "ids
    above the last one read": ids are taken before commit, so a lower one can commit later.)"""

    def __init__(self, database_url: str) -> None:
        self.engine: AsyncEngine = create_async_engine(
            database_url, isolation_level="AUTOCOMMIT", pool_size=1
        )
        self.seen: dict[str, float] = {}
        self._pending: set[str] = set()
        self._task: asyncio.Task[None] | None = None
        #: Set whenever a read found new bets.
        self._more = asyncio.Event()

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.engine.dispose()

    def tracking(self, send: Send) -> Send:
        """``send``, each bet it offers looked for from then on."""

        async def tracked(n: int) -> str | None:
            key = await send(n)
            if key is not None and key not in self.seen:
                self._pending.add(key)
            return key

        return tracked

    async def _run(self) -> None:
        query = text(
            "SELECT idempotency_key FROM bet_placements WHERE idempotency_key = ANY(:keys)"
        )
        async with self.engine.connect() as connection:
            while True:
                if self._pending:
                    keys = list(self._pending)
                    found = (await connection.execute(query, {"keys": keys})).scalars().all()
                    now = time.perf_counter()
                    for key in found:
                        self.seen.setdefault(str(key), now)
                        self._pending.discard(str(key))
                    if found:
                        self._more.set()
                await asyncio.sleep(POLL_SECONDS)

    async def wait_for(self, offers: Iterable[Offer], within: float = LAND_WITHIN) -> None:
        """Until every delivered command's bet is placed, or ``within`` seconds passed."""
        wanted = {key for offer in offers for key in offer.sent}
        deadline = time.perf_counter() + within
        while not wanted <= self.seen.keys():
            left = deadline - time.perf_counter()
            if left <= 0:
                return
            self._more.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._more.wait(), left)


@dataclass
class Phase:
    """A phase's offers: one per platform, or the REST reference alone."""

    offers: dict[str, Offer]
    busy_cores: float = 0.0
    #: CPU used by each of our processes (web, worker, ...), in cores.
    cpu: dict[str, float] = field(default_factory=dict)
    #: From the first offer until the last bet placed (or the wait for it ended).
    seconds: float = 0.0

    def landed(self, seen: dict[str, float]) -> int:
        return sum(offer.landed(seen) for offer in self.offers.values())

    def offered(self) -> int:
        return sum(offer.count for offer in self.offers.values())

    def rate(self, seen: dict[str, float]) -> float:
        """All the phase's bets placed, over the time from its start to its last bet placed."""
        start = min(offer.started for offer in self.offers.values())
        lasts = [last for o in self.offers.values() if (last := o.last_landed(seen)) is not None]
        return self.landed(seen) / (max(lasts) - start) if lasts else 0.0


async def timed(
    landings: Landings, processes: dict[str, int], offering: Awaitable[dict[str, Offer]]
) -> Phase:
    """Run a phase's offering, then wait for its bets; the cores the machine kept busy, and
    those each of ``processes`` (name → pid) used."""
    busy, wall, own = machine_busy_seconds(), time.perf_counter(), time.process_time()
    cpu = {name: cpu_seconds(pid) for name, pid in processes.items()}
    offers = await offering
    await landings.wait_for(offers.values())
    took = time.perf_counter() - wall
    used = {name: (cpu_seconds(pid) - cpu[name]) / took for name, pid in processes.items()}
    used["bench"] = (time.process_time() - own) / took
    return Phase(offers, (machine_busy_seconds() - busy) / took, used, took)


async def gathered(offers: dict[str, Awaitable[Offer]]) -> dict[str, Offer]:
    done = await asyncio.gather(*offers.values())
    return dict(zip(offers, done, strict=True))


# --- the run -------------------------------------------------------------------------------------


@dataclass
class Replies:
    """What each bot said in its platform's chat, and what still waits in the outboxes."""

    messages: dict[str, int]
    confirmed: dict[str, int]
    waiting: dict[str, int]


@dataclass
class Results:
    rate: int
    seconds: int
    in_flight: int
    web: int
    interval: float
    fixed: Phase
    fixed_ref: Phase
    flat: Phase
    flat_ref: Phase
    seen: dict[str, float]
    replies: Replies
    #: (platform, result) → chat commands recorded.
    commands: dict[tuple[str, str], int]


def postmaster(stack: Stack) -> int:
    """PostgreSQL's server process (its backends are its children)."""
    return int((stack.postgres.pgdata / "postmaster.pid").read_text().split()[0])


async def wait_history_read(resources: Resources, chat: Chat, within: float = 60) -> None:
    """Until the poller read the chat's first page (its history, never run as commands)."""
    deadline = time.monotonic() + within
    while not await resources.redis.exists(PAGE.format(chat=chat.live_chat_id)):
        if time.monotonic() > deadline:
            raise RuntimeError("no process polled YouTube's live chat: see the worker's log")
        await asyncio.sleep(0.1)


async def measure(
    stack: Stack,
    *,
    rate: int = RATE,
    seconds: int = SECONDS,
    in_flight: int = IN_FLIGHT,
    warm_up: int = WARM_UP,
    kick_key: RSAPrivateKey | None = None,
    web: int | None = None,
    youtube_poll_seconds: float | None = None,
) -> Results:
    """The whole part on ``stack`` (``web`` processes: default, one per core); sizes smaller
    than the defaults make a smoke test of it, and so does a shorter ``youtube_poll_seconds``
    (YouTube's pollingIntervalMillis and STREAMPOOLS_YOUTUBE_MIN_POLL_SECONDS; default: 2 s
    and the setting's default)."""
    count = rate * seconds
    world = await build_world(stack, pools=2, bettors=3 * count + warm_up, funds=1_000)
    async with running_fakes(kick_key) as fakes:
        settings, env = fakes.settings(stack), fakes.env()
        if youtube_poll_seconds is not None:
            env["STREAMPOOLS_YOUTUBE_MIN_POLL_SECONDS"] = str(youtube_poll_seconds)
            settings = settings.model_copy(
                update={"youtube_min_poll_seconds": youtube_poll_seconds}
            )
        resources = await open_resources(settings)
        try:
            await link_platforms(resources, settings, world, fakes)
            async with children() as started:
                # The worker and the pollers start while web does: they need no waiting for.
                worker = await start_worker(stack, env)
                started.append(worker)
                pollers = await start_integrations(stack, env)
                started.append(pollers)
                server, url = await start_web(stack, env, web)
                started.append(server)
                processes = {
                    "web": server.pid,
                    "worker": worker.pid,
                    "integrations": pollers.pid,
                    "postgres": postmaster(stack),
                }
                chat = fakes.youtube.go_live(
                    YOUTUBE_CHANNEL,
                    interval_ms=int((youtube_poll_seconds or 2) * 1000),
                )
                checked = await youtube_service.check_live(resources, force=True)
                if checked.get("online") != 1:
                    raise RuntimeError(f"YouTube's live check did not find the stream: {checked}")
                try:
                    await wait_history_read(resources, chat)
                except RuntimeError:
                    for log in ("worker.log", "integrations.log"):
                        if (stack.root / log).exists():
                            print((stack.root / log).read_text()[-3000:], file=sys.stderr)
                    raise
                results = await _drive(
                    stack,
                    resources,
                    fakes,
                    world,
                    url,
                    chat,
                    processes,
                    rate,
                    seconds,
                    in_flight,
                    warm_up,
                )
                results.web = web or web_processes()
                return results
        finally:
            await resources.close()


async def _drive(
    stack: Stack,
    resources: Resources,
    fakes: Fakes,
    world: World,
    url: str,
    chat: Chat,
    processes: dict[str, int],
    rate: int,
    seconds: int,
    in_flight: int,
    warm_up: int,
) -> Results:
    count = rate * seconds
    (pool_a, _), (pool_b, _) = world.pools
    twitch_url, kick_url = f"{url}/webhooks/twitch", f"{url}/webhooks/kick"
    settings = resources.settings
    async with (
        Landings(stack.database_url) as landings,
        aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=4 * in_flight),
            timeout=aiohttp.ClientTimeout(total=30),
        ) as http,
    ):

        def chat_sends(pool_id: int, number: int, first: int = 0) -> dict[str, Send]:
            """Chatters first to first+number-1 on each platform, their deliveries signed."""
            chatters = range(first, first + number)
            sends = {
                "twitch": webhook(
                    http, twitch_url, [twitch_delivery(n, pool_id) for n in chatters]
                ),
                "kick": webhook(
                    http, kick_url, [kick_delivery(fakes.kick, n, pool_id) for n in chatters]
                ),
                "youtube": youtube_chat(fakes.youtube, chat, pool_id, first),
            }
            return {platform: landings.tracking(send) for platform, send in sends.items()}

        # Warm-up: each path once over (connections, prepared statements), from chatters and
        # bettors of their own, not measured.
        warm = chat_sends(pool_a, warm_up, first=10 * count)
        warm_offers = [
            await at_rate(p, warm[p], warm_up, 5, time.perf_counter()) for p in PLATFORMS
        ]
        warm_rest = landings.tracking(rest(http, url, world, 0, "warm"))
        warm_offers.append(
            await at_rate(
                "rest", lambda n: warm_rest(3 * count + n), warm_up, 5, time.perf_counter()
            )
        )
        await landings.wait_for(warm_offers)

        start = time.perf_counter() + 0.5
        ref_send = landings.tracking(rest(http, url, world, 0, "fixed"))
        fixed_ref = await timed(
            landings,
            processes,
            gathered({"rest": at_rate("rest", ref_send, 3 * count, 3 * rate, start)}),
        )
        sends = chat_sends(pool_a, count)
        start = time.perf_counter() + 0.5
        fixed = await timed(
            landings,
            processes,
            gathered({p: at_rate(p, sends[p], count, rate, start) for p in PLATFORMS}),
        )

        start = time.perf_counter() + 0.5
        ref_send = landings.tracking(rest(http, url, world, 1, "flat"))
        flat_ref = await timed(
            landings,
            processes,
            gathered({"rest": flat_out("rest", ref_send, 3 * count, 2 * in_flight, start)}),
        )
        sends = chat_sends(pool_b, count)  # the same chatters, known now
        start = time.perf_counter() + 0.5
        flat = await timed(
            landings,
            processes,
            gathered(
                {
                    "twitch": flat_out("twitch", sends["twitch"], count, in_flight, start),
                    "kick": flat_out("kick", sends["kick"], count, in_flight, start),
                    "youtube": flat_out("youtube", sends["youtube"], count, 1, start),
                }
            ),
        )
        # The last replies' coalescing window and their flush: until every bet is confirmed in
        # its chat, or the time it takes has passed (the outboxes' rate limits hold the rest).
        offered = fixed.offered() + flat.offered()
        deadline = time.monotonic() + settings.chat_reply_coalesce_ms / 1000 + 2
        replies = await _replies(resources, fakes, chat)
        while (
            time.monotonic() < deadline and sum(replies.confirmed.values()) < offered + 3 * warm_up
        ):
            await asyncio.sleep(0.1)
            replies = await _replies(resources, fakes, chat)
        async with landings.engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT platform, result, count(*) FROM chat_commands GROUP BY 1, 2")
            )
            commands = {(str(p), str(r)): int(n) for p, r, n in rows.all()}
        return Results(
            rate=rate,
            seconds=seconds,
            in_flight=in_flight,
            web=web_processes(),
            interval=max(settings.youtube_min_poll_seconds, chat.polling_interval_millis / 1000),
            fixed=fixed,
            fixed_ref=fixed_ref,
            flat=flat,
            flat_ref=flat_ref,
            seen=dict(landings.seen),
            replies=replies,
            commands=commands,
        )


async def _replies(resources: Resources, fakes: Fakes, chat: Chat) -> Replies:
    said = {
        "twitch": [str(m["message"]) for m in fakes.twitch.chat_messages],
        "kick": [str(m["content"]) for m in fakes.kick.chat_messages],
        "youtube": fakes.youtube.inserted(chat, YOUTUBE_BOT),
    }
    broadcasters = {
        "twitch": TWITCH_BROADCASTER,
        "kick": KICK_BROADCASTER,
        "youtube": YOUTUBE_CHANNEL,
    }
    waiting = {}
    for platform, broadcaster in broadcasters.items():
        waiting[platform] = int(
            await resources.redis.llen(pending_key(platform, broadcaster))  # type: ignore[misc]
        )
    return Replies(
        messages={p: len(texts) for p, texts in said.items()},
        confirmed={p: sum(len(_CONFIRMED.findall(t)) for t in texts) for p, texts in said.items()},
        waiting=waiting,
    )


# --- the report ----------------------------------------------------------------------------------


def _ms(value: float) -> str:
    return f"{value:,.0f}"


def _latency(offer: Offer, seen: dict[str, float], fractions: tuple[float, ...]) -> str:
    """The percentiles of delivery → placed, in ms."""
    return " / ".join(_ms(offer.percentile(seen, f)) for f in fractions) + " ms"


def print_report(results: Results) -> None:
    seen = results.seen
    rate, count, in_flight = results.rate, results.rate * results.seconds, results.in_flight
    report.header(
        "platforms: chat commands through the whole pipeline (Twitch, Kick, YouTube)",
        EXPLANATION.format(
            web=f"{results.web} process{'es' if results.web > 1 else ''}",
            interval=results.interval,
            poll_ms=POLL_SECONDS * 1000,
            rate=rate,
            seconds=results.seconds,
            in_flight=in_flight,
            rest_in_flight=2 * in_flight,
        ),
    )
    names = [NAMES[p] for p in PLATFORMS]
    fixed, ref = results.fixed.offers, results.fixed_ref.offers["rest"]
    print(f"  At a fixed rate, {rate}/s from each platform for {results.seconds} s:")
    report.columns(*names, "REST (ref.)")
    report.row("offered", *[f"{count:,} at {rate}/s"] * 3, f"{3 * count:,} at {3 * rate}/s")
    _outcomes(fixed, ref, seen)
    _cpu(results.fixed, results.fixed_ref, seen)
    print()
    print(f"  Flat out, {count:,} from each platform (the same chatters, a second pool):")
    flat, ref = results.flat.offers, results.flat_ref.offers["rest"]
    report.columns(*names, "REST (ref.)")
    report.row(
        "offered",
        *[f"{count:,}, {in_flight} in flight"] * 2,
        f"{count:,} at once",
        f"{3 * count:,}, {2 * in_flight} in flight",
    )
    _outcomes(flat, ref, seen)
    report.row(
        "bets placed/s",
        *[f"{flat[p].rate(seen):,.0f}" for p in PLATFORMS],
        f"{ref.rate(seen):,.0f}",
    )
    chat_rate, ref_rate = results.flat.rate(seen), results.flat_ref.rate(seen)
    report.row(
        "all three platforms' commands placed/s", f"{chat_rate:,.0f}", "", "", f"{ref_rate:,.0f}"
    )
    _cpu(results.flat, results.flat_ref, seen)
    print()
    print("  Chat commands recorded, and what the bots said in each chat by the end:")
    report.columns(*names)
    refused = {
        p: sum(n for (q, result), n in results.commands.items() if q == p and result != "ok")
        for p in PLATFORMS
    }
    report.row(
        "commands recorded ok (with the warm-up)",
        *[f"{results.commands.get((p, 'ok'), 0):,}" for p in PLATFORMS],
    )
    report.row("commands refused", *[f"{refused[p]:,}" for p in PLATFORMS])
    replies = results.replies
    report.row("reply messages sent", *[f"{replies.messages[p]:,}" for p in PLATFORMS])
    report.row("bets they confirm", *[f"{replies.confirmed[p]:,}" for p in PLATFORMS])
    report.row("lines still in the outbox", *[f"{replies.waiting[p]:,}" for p in PLATFORMS])
    print()
    offers = [*fixed.values(), *flat.values()]
    report.verdict(
        "every chat command placed its bet (both phases, nothing refused or lost)",
        all(o.landed(seen) == o.count for o in offers),
        f"{sum(o.landed(seen) for o in offers):,} of {sum(o.count for o in offers):,}",
    )
    p99 = {p: fixed[p].percentile(seen, 0.99) for p in PLATFORMS}
    youtube_bound = (results.interval + 1) * 1000
    report.verdict(
        f"at {rate}/s each: Twitch and Kick p99 under 1 s, YouTube's under its poll interval + 1 s",
        p99["twitch"] < 1000 and p99["kick"] < 1000 and p99["youtube"] < youtube_bound,
        ", ".join(f"{NAMES[p]} {_ms(p99[p])} ms" for p in PLATFORMS),
    )
    ratio = chat_rate / ref_rate if ref_rate else 0.0
    report.verdict(
        "chat commands/s flat out at least 0.5x REST bets/s",
        ratio >= 0.5,
        f"{chat_rate:,.0f}/s against {ref_rate:,.0f}/s ({ratio:.2f}x)",
    )


_CPU_LABELS: Final = {
    "web": "CPU of the web processes (cores)",
    "worker": "CPU of the worker",
    "integrations": "CPU of the integrations process",
    "postgres": "CPU of PostgreSQL",
    "bench": "CPU of the bench (fakes, senders)",
}


def _cpu(chat: Phase, ref: Phase, seen: dict[str, float]) -> None:
    """CPU rows: each process's, the servers' per bet placed (the figure least moved by what
    else the machine runs), and the whole machine's (others' work included)."""
    for name in chat.cpu:
        cells = (f"{chat.cpu[name]:.2f}", "", "", f"{ref.cpu[name]:.2f}")
        report.row(_CPU_LABELS.get(name, f"CPU of {name}"), *cells)

    def per_bet(phase: Phase) -> str:
        servers = sum(cores for name, cores in phase.cpu.items() if name != "bench")
        landed = phase.landed(seen)
        return f"{servers * phase.seconds / landed * 1000:.1f} ms" if landed else "-"

    report.row("servers' CPU per bet placed", per_bet(chat), "", "", per_bet(ref))
    report.row(
        "the machine busy (cores)", f"{chat.busy_cores:.2f}", "", "", f"{ref.busy_cores:.2f}"
    )


def _outcomes(chat: dict[str, Offer], ref: Offer, seen: dict[str, float]) -> None:
    """A phase's rows: bets placed, refusals, latency."""
    report.row(
        "bets placed", *[f"{chat[p].landed(seen):,}" for p in PLATFORMS], f"{ref.landed(seen):,}"
    )
    report.row(
        "refused at the entry point",
        *[f"{chat[p].failures:,}" for p in PLATFORMS],
        f"{ref.failures:,}",
    )
    for label, fractions in (("p50 / p99", (0.5, 0.99)), ("max", (1.0,))):
        cells = [
            *[_latency(chat[p], seen, fractions) for p in PLATFORMS],
            _latency(ref, seen, fractions),
        ]
        report.row(f"delivery → placed, {label}", *cells)
