"""`make bench ONLY=twitch`: Twitch's EventSub webhook under a steady 500 deliveries a second
(ack latency and throughput), beside the same web process answering /healthz at that rate."""

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp

from tests.bench import report
from tests.bench.stack import Stack, children, cpu_seconds, embedded_stack, start_web
from tests.fakes.twitch import objects, signing

RATE = 500
SECONDS = 10
ACK_P99_TARGET_MS = 20.0
SECRET = "bench-eventsub-secret"
BROADCASTER = "141981764"

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
