"""`make bench ONLY=platforms`: the YouTube quota planner (simulated), then chat commands through
the whole pipeline from Twitch, Kick and YouTube (``tests.bench.chat_pipeline``)."""

import asyncio
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from redis.asyncio import Redis

from app.kit.embedded import EmbeddedRedis, free_port
from app.kit.migrate import PROJECT_ROOT
from app.settings import Settings
from app.stream.youtube_quota import QuotaPlanner, seconds_to_reset
from app.stream.youtube_simulation import simulate_day
from tests.bench import chat_pipeline, report
from tests.bench.stack import embedded_stack

LIVE_CHATS = 100
INTERVAL_MS = 2000
NOON_PT = datetime(2026, 11, 27, 20, 0, tzinfo=UTC)

QUOTA_EXPLANATION = """
100 YouTube channels live from noon Pacific until Google's reset at midnight, each chat polled
as the planner says (every poll's units reserved in Redis, as the workers do), on a simulated
clock. Figures: units spent against the day's budget, polls, and how often each chat was polled
early and late in the day.

Reference: what polling every chat at YouTube's own ``pollingIntervalMillis`` (2 s here) would
cost over the same hours, the naive poller's bill. Targets: never more than the budget; the
budget used (at least 90 % of what polls may take); polling still going in the last hour.
"""


async def measure(redis_url: str) -> None:
    settings = Settings(redis_url=redis_url, youtube_quota_units_per_day=10_000)
    redis: Redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        started = time.perf_counter()
        day = await simulate_day(
            settings, redis, NOON_PT, live_chats=LIVE_CHATS, polling_interval_millis=INTERVAL_MS
        )
        took = time.perf_counter() - started
        used = (await QuotaPlanner(settings, redis).state(NOON_PT)).used
    finally:
        await redis.aclose()
    hours = seconds_to_reset(NOON_PT) / 3600
    budget = settings.youtube_quota_units_per_day
    for_polls = budget - settings.youtube_quota_reserve_units
    naive = int(LIVE_CHATS * hours * 3600 / (INTERVAL_MS / 1000) * 5)
    report.header(
        f"platforms: the YouTube quota planner, {LIVE_CHATS} live chats for {hours:.0f} h",
        QUOTA_EXPLANATION,
    )
    report.columns("planner", "poll every 2 s")
    report.row(f"units spent (budget {budget})", f"{used:,}", f"{naive:,}")
    report.row("chat polls", f"{day.polls:,}", f"{naive // 5:,}")
    report.row("polls refused (over the budget)", f"{day.refused:,}", "")
    for start, end in ((0, 1), (4, 5), (8, 9), (hours - 1, hours)):
        report.row(
            f"mean wait per chat, hours {start:.0f}-{end:.0f}",
            f"{day.mean_wait(start, end):,.0f} s",
            f"{INTERVAL_MS / 1000:.0f} s",
        )
    report.row("simulation time (real)", f"{took:.2f} s", "")
    report.verdict("never past the budget", used <= budget, f"{used:,} of {budget:,} units")
    report.verdict(
        "the budget used", day.units >= 0.9 * for_polls, f"{day.units:,} of {for_polls:,}"
    )
    last = [at for at, _ in day.waits if at >= hours - 1]
    report.verdict("still polling in the last hour", bool(last), f"{len(last)} polls")


def main() -> None:
    quota_planner()
    print(
        f"platforms: !bet from Twitch, Kick and YouTube chat, {chat_pipeline.RATE}/s each for"
        f" {chat_pipeline.SECONDS} s, then flat out, beside REST ..."
    )
    with embedded_stack("bench_platforms") as stack:
        results = asyncio.run(chat_pipeline.measure(stack))
        chat_pipeline.print_report(results)


def quota_planner() -> None:
    print(f"platforms: the YouTube quota planner at {LIVE_CHATS} live chats (simulated) ...")
    (PROJECT_ROOT / ".data").mkdir(exist_ok=True)
    root = tempfile.mkdtemp(prefix="bench-", dir=PROJECT_ROOT / ".data")
    redis = EmbeddedRedis(Path(root) / "redis", free_port(), persist=False)
    try:
        redis.start()
        asyncio.run(measure(redis.url))
    finally:
        redis.stop()
        shutil.rmtree(root, ignore_errors=True)
