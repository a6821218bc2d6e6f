"""The YouTube quota planner: reservations never pass the day's budget however many pollers
race for it, the day is Google's (midnight Pacific), polling slows as the units run low or more
chats go live, and a simulated day of live chats stays within the budget."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from app.settings import Settings
from app.stream.youtube_quota import (
    QuotaPlanner,
    next_reset,
    pacific_day,
    plan_interval,
    seconds_to_reset,
)
from app.stream.youtube_simulation import simulate_day


@pytest.fixture
def settings(database_url: str, redis_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        youtube_quota_units_per_day=1_000,
        youtube_quota_reserve_units=100,
    )


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client: Redis = Redis.from_url(redis_url, decode_responses=True)
    await client.flushdb()
    yield client
    await client.aclose()


NOON_PT = datetime(2026, 11, 27, 20, 0, tzinfo=UTC)  # 12:00 in Los Angeles (PST)


async def test_racing_reservations_never_pass_the_budget(settings: Settings, redis: Redis) -> None:
    planner = QuotaPlanner(settings, redis)
    polls = await asyncio.gather(*(planner.reserve_poll(5, NOON_PT) for _ in range(300)))
    # Polls stop at the reserve (900 units: 180 polls); the reserve goes to replies.
    assert sum(polls) == 180
    replies = await asyncio.gather(*(planner.reserve(20, NOON_PT) for _ in range(10)))
    assert sum(replies) == 5
    state = await planner.state(NOON_PT)
    assert (state.used, state.left) == (1_000, 0)
    assert not await planner.reserve(1, NOON_PT)


async def test_the_day_is_googles_midnight_pacific(settings: Settings, redis: Redis) -> None:
    before = datetime(2026, 11, 28, 7, 59, tzinfo=UTC)  # 23:59 PST on the 27th
    after = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
    assert (pacific_day(before), pacific_day(after)) == ("2026-11-27", "2026-11-28")
    assert seconds_to_reset(before) == 60
    planner = QuotaPlanner(settings, redis)
    assert await planner.reserve(1_000, before)
    assert not await planner.reserve(5, before)
    assert await planner.reserve(5, after)  # a new day's budget


async def test_quota_exceeded_stops_every_call_until_the_reset(
    settings: Settings, redis: Redis
) -> None:
    planner = QuotaPlanner(settings, redis)
    assert await planner.exhausted(NOON_PT)
    assert not await planner.exhausted(NOON_PT)  # told once
    assert not await planner.reserve(5, NOON_PT)
    assert await planner.poll_interval(NOON_PT, 1, 2000) is None
    assert await redis.ttl(f"youtube:quota:{pacific_day(NOON_PT)}:exhausted") > 12 * 3600 - 5
    assert await planner.reserve(5, datetime(2026, 11, 28, 8, 0, tzinfo=UTC))


def test_the_reset_is_the_next_midnight_pacific_across_a_dst_change() -> None:
    assert next_reset(NOON_PT) == datetime(2026, 11, 28, 8, 0, tzinfo=UTC)  # PST
    # 8 March 2026: the clocks go forward at 02:00, so that day's midnight is 07:00 UTC.
    assert next_reset(datetime(2026, 3, 7, 20, 0, tzinfo=UTC)) == datetime(
        2026, 3, 8, 8, 0, tzinfo=UTC
    )
    assert next_reset(datetime(2026, 3, 8, 19, 0, tzinfo=UTC)) == datetime(
        2026, 3, 9, 7, 0, tzinfo=UTC
    )


async def test_chat_polls_pause_until_the_reset_once_only_the_reserve_is_left(
    settings: Settings, redis: Redis
) -> None:
    planner = QuotaPlanner(settings, redis)
    assert await planner.polls_paused_until(NOON_PT) is None
    assert await planner.reserve_poll(895, NOON_PT)  # 5 units above the reserve of 100
    assert await planner.polls_paused_until(NOON_PT) is None
    assert await planner.reserve_poll(5, NOON_PT)
    assert not await planner.reserve_poll(5, NOON_PT)
    assert await planner.polls_paused_until(NOON_PT) == next_reset(NOON_PT)
    assert await planner.reserve(20, NOON_PT)  # a reply still goes out of the reserve
    tomorrow = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
    assert await planner.polls_paused_until(tomorrow) is None


def test_polling_slows_as_units_run_low_or_more_chats_go_live(settings: Settings) -> None:
    def wait(left: int, chats: int = 1, interval_ms: int = 2000) -> float | None:
        return plan_interval(
            settings,
            left=left,
            seconds_left=8 * 3600,
            live_chats=chats,
            polling_interval_millis=interval_ms,
        )

    assert wait(4) is None  # not even one poll: wait for the reset
    waits = [wait(left) for left in (100_000, 10_000, 2_000, 500, 50)]
    assert all(w is not None for w in waits)
    assert waits == sorted(waits)  # type: ignore[type-var]
    assert waits[0] == settings.youtube_min_poll_seconds  # plenty: as often as allowed
    assert waits[-1] == 4 * 3600 * 5 / 50  # the horizon's share of the last units
    assert wait(2_000, chats=10) == pytest.approx(10 * wait(2_000))  # type: ignore[operator]
    assert wait(100_000, interval_ms=9_000) == 9.0  # YouTube's own interval at least


async def test_a_simulated_day_of_live_chats_stays_within_the_budget_and_slows_down(
    settings: Settings, redis: Redis
) -> None:
    settings.youtube_quota_units_per_day = 10_000
    settings.youtube_quota_reserve_units = 1_000
    day = await simulate_day(settings, redis, NOON_PT, live_chats=20)
    state = await QuotaPlanner(settings, redis).state(NOON_PT)
    assert state.used == day.units <= 9_000
    assert day.units >= 8_500  # the budget is spent, not hoarded
    # Each chat polled every few minutes at first, slower and slower as the day runs down.
    assert day.mean_wait(0, 2) < day.mean_wait(6, 8) < day.mean_wait(10, 12)
