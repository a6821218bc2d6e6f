"""A day of YouTube chat polling simulated against the quota planner (a clock of its own, the
real reservations in Redis): how many units ``live_chats`` chats spend, how often each is polled
as the budget runs down. The tests check the planner with it and ``make bench ONLY=platforms``
reports it."""

import heapq
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from redis.asyncio import Redis

from app.settings import Settings
from app.stream.youtube_quota import QuotaPlanner, seconds_to_reset
from integrations.youtube.api import LIST_COST


@dataclass(slots=True)
class SimulatedDay:
    units: int = 0
    polls: int = 0
    refused: int = 0
    #: (hours since the start, the wait the planner asked for) of every poll.
    waits: list[tuple[float, float]] = field(default_factory=list)

    def mean_wait(self, start_hour: float, end_hour: float) -> float:
        chosen = [wait for at, wait in self.waits if start_hour <= at < end_hour]
        return sum(chosen) / len(chosen) if chosen else float("inf")


async def simulate_day(
    settings: Settings,
    redis: Redis,
    start: datetime,
    *,
    live_chats: int,
    polling_interval_millis: int = 2000,
) -> SimulatedDay:
    """``live_chats`` chats live from ``start`` to Google's next reset, each polled as the
    planner says (one reservation per poll)."""
    planner = QuotaPlanner(settings, redis)
    end = start + timedelta(seconds=seconds_to_reset(start) - 1)
    day = SimulatedDay()
    queue = [(start + timedelta(milliseconds=chat), chat) for chat in range(live_chats)]
    heapq.heapify(queue)
    while queue:
        at, chat = heapq.heappop(queue)
        if at >= end:
            continue
        if await planner.reserve_poll(LIST_COST, at):
            day.units += LIST_COST
            day.polls += 1
            wait = await planner.poll_interval(at, live_chats, polling_interval_millis)
            if wait is not None:
                day.waits.append(((at - start).total_seconds() / 3600, wait))
        else:
            day.refused += 1
            wait = None
        heapq.heappush(queue, (at + timedelta(seconds=wait if wait is not None else 60), chat))
    return day
