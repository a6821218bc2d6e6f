"""`make bench ONLY=twitch`: Twitch's EventSub webhook under a steady 500 deliveries a second
(ack latency and throughput), beside the same web process answering /healthz at that rate; then
chat bets (`!bet` from Twitch chat) until a Socket.IO watcher sees them in the pool's totals,
beside the same bets placed over REST."""

import asyncio
import contextlib
import math
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import socketio

from app.channel.permissions import channel_or_404
from app.channel.service import channel_service
from app.kit.resources import open_resources
from app.kit.uow import unit_of_work
from tests.bench import report
from tests.bench.stack import (
    JWT_SECRET,
    Child,
    Stack,
    children,
    cpu_seconds,
    embedded_stack,
    start_web,
)
from tests.bench.world import bench_settings, build_world
from tests.factories import create_platform_account
from tests.fakes.twitch import objects, signing

RATE = 500
SECONDS = 10
ACK_P99_TARGET_MS = 20.0
SECRET = "bench-eventsub-secret"
BROADCASTER = "141981764"

CHAT_RATE = 50
CHAT_SECONDS = 6
CHAT_P99_TARGET_MS = 1000.0

EXPLANATION = f"""
Signed EventSub deliveries (channel.chat.message, each with its own message id, signed at send
time as Twitch signs them) are posted open-loop at {RATE} a second for {SECONDS} s to the web
process started as production starts it; each is verified, stored once in the inbox and its job
enqueued before the 2xx. Latency runs from the moment a delivery was due, so a server that falls
behind is charged for the wait.

The reference is the same web process answering GET /healthz (no database, no Redis) at the same
rate from the same client: what an HTTP round trip costs here before any work.
"""


@dataclass
class Run:
    label: str
    latencies_ms: list[float] = field(default_factory=list)
    failures: int = 0
    seconds: float = 0.0
    cpu: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float:
        return report.percentile(self.latencies_ms, fraction)


def _delivery(n: int) -> signing.Delivery:
    subscription = objects.subscription(
        "channel.chat.message",
        {"broadcaster_user_id": BROADCASTER, "user_id": "99"},
        {"method": "webhook", "callback": "https://example.com/webhooks/twitch"},
    )
    event = objects.chat_message_event(
        BROADCASTER,
        "streamer",
        chatter_id=str(1_000 + n % 500),
        chatter_login=f"viewer{n % 500}",
        text=f"hello {n}",
    )
    return signing.notification(subscription, event, SECRET)


#: Sends request number n; returns its HTTP status.
Sender = Callable[[aiohttp.ClientSession, str, int], Awaitable[int]]


async def _steady(
    url: str, web_pid: int, label: str, send: Sender, seconds: float = SECONDS, first: int = 0
) -> Run:
    run = Run(label)
    total = int(RATE * seconds)
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=200), timeout=aiohttp.ClientTimeout(total=30)
    ) as http:

        async def one(n: int, due: float) -> None:
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            try:
                status = await send(http, url, n)
            except aiohttp.ClientError:
                status = 0
            if 200 <= status < 300:
                run.latencies_ms.append((time.perf_counter() - due) * 1000)
            else:
                run.failures += 1

        cpu_before = cpu_seconds(web_pid)
        start = time.perf_counter() + 0.2
        await asyncio.gather(*(one(first + n, start + n / RATE) for n in range(total)))
        run.seconds = time.perf_counter() - start
        run.cpu = (cpu_seconds(web_pid) - cpu_before) / run.seconds
    return run


#: Signed ahead (a delivery stays fresh for ten minutes), so that the client's own work does
#: not take the machine's second core from the server.
_DELIVERIES: dict[int, signing.Delivery] = {}


async def _webhook(http: aiohttp.ClientSession, url: str, n: int) -> int:
    delivery = _DELIVERIES.pop(n, None) or _delivery(n)
    async with http.post(
        f"{url}/webhooks/twitch", data=delivery.body, headers=delivery.headers
    ) as response:
        await response.read()
        return response.status


async def _healthz(http: aiohttp.ClientSession, url: str, n: int) -> int:
    async with http.get(f"{url}/healthz") as response:
        await response.read()
        return response.status


async def measure(stack: Stack) -> tuple[Run, Run]:
    async with children() as started:
        web, url = await start_web(
            stack,
            {"STREAMPOOLS_TWITCH_EVENTSUB_SECRET": SECRET, "STREAMPOOLS_DEMO_ENABLED": "false"},
        )
        started.append(web)
        # Warm up both paths at the full rate (the pool's connections, prepared statements)
        # before measuring.
        await _steady(url, web.pid, "warm-up", _healthz, seconds=2)
        await _steady(url, web.pid, "warm-up", _webhook, seconds=2, first=-RATE * 2)
        reference = await _steady(url, web.pid, "GET /healthz", _healthz)
        _DELIVERIES.update((n, _delivery(n)) for n in range(RATE * SECONDS))
        ours = await _steady(url, web.pid, "POST /webhooks/twitch", _webhook)
    return ours, reference


CHAT_EXPLANATION = f"""
With the worker running, {CHAT_RATE} chatters a second for {CHAT_SECONDS} s each send `!bet 1 10`
(a signed channel.chat.message delivery; each chatter is new, so their first bet also creates
their chat-only account with its sign-up points). A Socket.IO client watching the channel times
when the pool's totals (`pool:updated`, at most 4 a second) first count each bet: latency runs
from the delivery being sent to the watcher seeing it.

The reference is the same number of bets at the same rate placed over REST
(POST /api/v1/pools/{{id}}/bets) by signed-in viewers, timed by the same watcher.
"""


@dataclass
class Visible:
    label: str
    sent: list[float] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    failures: int = 0

    def percentile(self, fraction: float) -> float:
        return report.percentile(self.latencies_ms, fraction)


class Watcher:
    """A Socket.IO client in the channel's room: when the pool's bettor count first reached
    each value."""

    def __init__(self) -> None:
        self.client = socketio.AsyncClient(reconnection=False)
        self.reached: list[tuple[int, float]] = []
        self.client.on("pool:updated", self._updated)
        self._waiting: tuple[int, asyncio.Event] | None = None

    async def _updated(self, data: dict[str, Any]) -> None:
        self.reached.append((int(data["bettors"]), time.perf_counter()))
        if self._waiting is not None and int(data["bettors"]) >= self._waiting[0]:
            self._waiting[1].set()

    async def wait_for(self, count: int, within: float) -> None:
        """Until the totals count ``count`` bettors (or ``within`` seconds passed)."""
        if self.first_time_at_least(count) is not None:
            return
        self._waiting = (count, asyncio.Event())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._waiting[1].wait(), within)

    async def start(self, url: str, channel_id: int) -> None:
        await self.client.connect(url, transports=["websocket"])
        answer = await self.client.call("channel:join", {"channel": channel_id}, timeout=10)
        assert answer.get("ok", True) is not False, answer

    def first_time_at_least(self, count: int) -> float | None:
        return next((at for bettors, at in self.reached if bettors >= count), None)


async def _visible(
    watcher: Watcher, label: str, base: int, send: Callable[[int], Awaitable[bool]]
) -> Visible:
    """Send CHAT_RATE bets a second (``send(n)``), then match each to when the totals count it."""
    result = Visible(label)
    total = CHAT_RATE * CHAT_SECONDS
    start = time.perf_counter() + 0.2

    async def one(n: int) -> None:
        await asyncio.sleep(max(0.0, start + n / CHAT_RATE - time.perf_counter()))
        result.sent.append(time.perf_counter())
        if not await send(n):
            result.failures += 1

    await asyncio.gather(*(one(n) for n in range(total)))
    await watcher.wait_for(base + total, within=15)
    for k, sent in enumerate(sorted(result.sent), start=1):
        seen = watcher.first_time_at_least(base + k)
        if seen is not None:
            result.latencies_ms.append(max(0.0, seen - sent) * 1000)
    return result


async def measure_chat(stack: Stack) -> tuple[Visible, Visible]:
    world = await build_world(stack, pools=1, bettors=CHAT_RATE * CHAT_SECONDS, funds=1_000)
    settings = bench_settings(stack)
    resources = await open_resources(settings)
    try:
        async with unit_of_work(resources) as session:
            channel = await channel_or_404(session, world.channel_id)
            account = await create_platform_account(
                session, channel.owner_id, platform_user_id=BROADCASTER, login="streamer"
            )
            await channel_service.link_verified(session, channel, account)
    finally:
        await resources.close()
    pool_id, outcomes = world.pools[0]
    env = {
        "STREAMPOOLS_TWITCH_EVENTSUB_SECRET": SECRET,
        "STREAMPOOLS_DEMO_ENABLED": "false",
        "STREAMPOOLS_JWT_SECRET": JWT_SECRET,
    }
    async with children() as started:
        web, url = await start_web(stack, env)
        started.append(web)
        worker = await Child.start(
            "worker",
            [str(Path(sys.executable).parent / "arq"), "workers.settings.WorkerSettings"],
            {
                "DATABASE_URL": stack.database_url,
                "REDIS_URL": stack.redis.url,
                "STREAMPOOLS_LOG_LEVEL": "WARNING",
                **env,
            },
            log=stack.root / "worker.log",
        )
        started.append(worker)
        watcher = Watcher()
        await watcher.start(url, world.channel_id)
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:

            async def over_rest(n: int) -> bool:
                _, token = world.bettors[n]
                async with http.post(
                    f"{url}/api/v1/pools/{pool_id}/bets",
                    json={"outcome_id": outcomes[0], "amount": 10},
                    headers={"Authorization": f"Bearer {token}", "Idempotency-Key": f"ref-{n}"},
                ) as response:
                    await response.read()
                    return response.status == 201

            async def from_chat(n: int) -> bool:
                delivery = _chat_bet(n)
                async with http.post(
                    f"{url}/webhooks/twitch", data=delivery.body, headers=delivery.headers
                ) as response:
                    await response.read()
                    return response.status == 200

            reference = await _visible(watcher, "over REST", 0, over_rest)
            ours = await _visible(watcher, "from Twitch chat", CHAT_RATE * CHAT_SECONDS, from_chat)
        await watcher.client.disconnect()
    return ours, reference


def _chat_bet(n: int) -> signing.Delivery:
    subscription = objects.subscription(
        "channel.chat.message",
        {"broadcaster_user_id": BROADCASTER, "user_id": "99"},
        {"method": "webhook", "callback": "https://example.com/webhooks/twitch"},
    )
    event = objects.chat_message_event(
        BROADCASTER,
        "streamer",
        chatter_id=str(500_000 + n),
        chatter_login=f"chatter{n}",
        text="!bet 1 10",
    )
    return signing.notification(subscription, event, SECRET)


def print_chat_report(ours: Visible, reference: Visible) -> None:
    report.header("Chat bets: from Twitch chat to the pool's live totals", CHAT_EXPLANATION)
    report.columns("from chat (ours)", "over REST (ref.)")
    total = CHAT_RATE * CHAT_SECONDS
    report.row("bets sent", f"{total:,} at {CHAT_RATE}/s", f"{total:,} at {CHAT_RATE}/s")
    report.row(
        "seen in the totals", f"{len(ours.latencies_ms):,}", f"{len(reference.latencies_ms):,}"
    )
    report.row("refused or failed", f"{ours.failures:,}", f"{reference.failures:,}")
    for label, fraction in (("p50", 0.5), ("p99", 0.99), ("max", 1.0)):
        report.row(
            f"sent → seen {label}",
            f"{ours.percentile(fraction):.0f} ms",
            f"{reference.percentile(fraction):.0f} ms",
        )
    print()
    p99 = ours.percentile(0.99)
    complete = len(ours.latencies_ms) == total and not ours.failures
    report.verdict(
        f"chat bet visible over Socket.IO, p99 under {CHAT_P99_TARGET_MS:g} ms",
        complete and p99 < CHAT_P99_TARGET_MS,
        f"{p99:.0f} ms" + ("" if complete else f" ({total - len(ours.latencies_ms)} never seen)"),
    )


def print_report(ours: Run, reference: Run) -> None:
    report.header("Twitch EventSub webhook: ack latency at a steady rate", EXPLANATION)
    report.columns("webhook (ours)", "GET /healthz (ref.)")
    report.row("offered", f"{RATE:,}/s for {SECONDS} s", f"{RATE:,}/s for {SECONDS} s")
    report.row("acknowledged 2xx", f"{ours.rate:,.0f}/s", f"{reference.rate:,.0f}/s")
    report.row("failed or refused", f"{ours.failures:,}", f"{reference.failures:,}")
    for label, fraction in (("p50", 0.5), ("p99", 0.99), ("max", 1.0)):
        report.row(
            f"ack latency {label}",
            f"{ours.percentile(fraction):.1f} ms",
            f"{reference.percentile(fraction):.1f} ms",
        )
    report.row("CPU of the web process (of one core)", f"{ours.cpu:.0%}", f"{reference.cpu:.0%}")
    print()
    p99 = ours.percentile(0.99)
    report.verdict(
        f"ack p99 under {ACK_P99_TARGET_MS:g} ms at {RATE}/s",
        p99 < ACK_P99_TARGET_MS and not ours.failures and not math.isnan(p99),
        f"{p99:.1f} ms" + (f" ({ours.failures} failed)" if ours.failures else ""),
    )


def main() -> None:
    print(f"twitch: {RATE} EventSub deliveries/s for {SECONDS} s ...")
    with embedded_stack("bench_twitch") as stack:
        ours, reference = asyncio.run(measure(stack))
        print_report(ours, reference)
    print(f"twitch: {CHAT_RATE} chat bets/s for {CHAT_SECONDS} s, watched over Socket.IO ...")
    with embedded_stack("bench_twitch_chat") as stack:
        chat, rest = asyncio.run(measure_chat(stack))
        print_chat_report(chat, rest)
