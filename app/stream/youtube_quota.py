"""The YouTube Data API quota planner: one Cloud project's daily units (10,000 by default),
shared by every streamer's live chat, spent so that the day's total never passes the budget.

- Every call reserves its units first (``reserve``), atomically in Redis under the Pacific-time
  day (Google resets quotas at midnight Pacific): a reservation that would pass the budget is
  refused, so however many workers poll, the day's sum stays within it. Chat polls leave
  ``youtube_quota_reserve_units`` for replies and live checks.
- How often each live chat is polled (``poll_interval``) spreads what is left over the live
  chats and the planning horizon (the rest of the day, at most ``youtube_plan_hours``): it
  slows down as the units run low or more chats go live, never below YouTube's own
  ``pollingIntervalMillis`` or ``youtube_min_poll_seconds``.
- A 403 ``quotaExceeded`` (another app on the project, a reset we misjudged) stops every call
  until the reset (``exhausted``).
- Units used and left today are Prometheus gauges, read from Redis (global, not per process).
- While the day's units leave no chat poll, chat betting on YouTube is paused until the reset
  (``polls_paused_until``, what the dashboard shows)."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from prometheus_client import Gauge
from redis.asyncio import Redis

from app.settings import Settings
from integrations.youtube.api import LIST_COST

PACIFIC: Final = ZoneInfo("America/Los_Angeles")

UNITS_USED = Gauge(
    "streampools_youtube_quota_units_used",
    "YouTube Data API units reserved today (Pacific-time day), across every process.",
)
UNITS_LEFT = Gauge(
    "streampools_youtube_quota_units_left",
    "YouTube Data API units left today under the configured daily budget.",
)

# KEYS: used, exhausted. ARGV: cost, limit (the budget less what must be kept), ttl.
# -2: stopped until the reset (quotaExceeded); -1: would pass the limit; else units used.
_RESERVE = """
if redis.call('EXISTS', KEYS[2]) == 1 then
    return -2
end
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local cost = tonumber(ARGV[1])
if used + cost > tonumber(ARGV[2]) then
    return -1
end
used = redis.call('INCRBY', KEYS[1], cost)
redis.call('EXPIRE', KEYS[1], ARGV[3])
return used
"""

#: Keys live two days: a day's count outlives its day, never piles up.
KEY_SECONDS: Final = 2 * 24 * 3600


def pacific_day(now: datetime) -> str:
    return now.astimezone(PACIFIC).strftime("%Y-%m-%d")


def next_reset(now: datetime) -> datetime:
    """The next midnight Pacific time (Google's quota reset), in UTC."""
    local = now.astimezone(PACIFIC)
    midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight.astimezone(UTC)


def seconds_to_reset(now: datetime) -> float:
    """Until the next midnight Pacific time (Google's quota reset); in UTC, so that a DST change
    counts as the hour it is."""
    return max(1.0, (next_reset(now) - now).total_seconds())


@dataclass(frozen=True, slots=True)
class QuotaState:
    day: str
    used: int
    budget: int
    exhausted: bool

    @property
    def left(self) -> int:
        return 0 if self.exhausted else max(0, self.budget - self.used)


class QuotaPlanner:
    def __init__(self, settings: Settings, redis: Redis) -> None:
        self.settings = settings
        self.redis = redis

    @property
    def budget(self) -> int:
        return self.settings.youtube_quota_units_per_day

    def _keys(self, now: datetime) -> tuple[str, str]:
        day = pacific_day(now)
        return f"youtube:quota:{day}", f"youtube:quota:{day}:exhausted"

    async def reserve(self, cost: int, now: datetime, *, keep: int = 0) -> bool:
        """Take ``cost`` units of today's budget, leaving ``keep`` of it untouched; False (and
        nothing taken) when that would pass it or the quota is stopped until the reset."""
        used_key, exhausted_key = self._keys(now)
        limit = max(0, self.budget - keep)
        answer = int(
            await self.redis.eval(  # type: ignore[misc]
                _RESERVE, 2, used_key, exhausted_key, str(cost), str(limit), str(KEY_SECONDS)
            )
        )
        if answer >= 0:
            UNITS_USED.set(answer)
            UNITS_LEFT.set(max(0, self.budget - answer))
        return answer >= 0

    async def reserve_poll(self, cost: int, now: datetime) -> bool:
        """A chat poll's units: it leaves the reserve for replies and live checks."""
        return await self.reserve(cost, now, keep=self.settings.youtube_quota_reserve_units)

    async def state(self, now: datetime) -> QuotaState:
        used_key, exhausted_key = self._keys(now)
        used, exhausted = await self.redis.mget(used_key, exhausted_key)
        state = QuotaState(
            day=pacific_day(now),
            used=int(used or 0),
            budget=self.budget,
            exhausted=exhausted is not None,
        )
        UNITS_USED.set(state.used)
        UNITS_LEFT.set(state.left)
        return state

    async def polls_paused_until(self, now: datetime) -> datetime | None:
        """When chat polls resume (the reset) while today's units leave none: Google said
        ``quotaExceeded``, or what is left is the reserve kept for replies and live checks
        (``reserve_poll`` refuses). None while a poll can still be afforded."""
        state = await self.state(now)
        if state.left - self.settings.youtube_quota_reserve_units < LIST_COST:
            return next_reset(now)
        return None

    async def exhausted(self, now: datetime) -> bool:
        """Google said ``quotaExceeded``: stop every call until its reset. True the first time
        today (to tell the streamers once)."""
        _, exhausted_key = self._keys(now)
        first = await self.redis.set(
            exhausted_key, "1", nx=True, ex=int(seconds_to_reset(now)) + 60
        )
        UNITS_LEFT.set(0)
        return bool(first)

    async def poll_interval(
        self, now: datetime, live_chats: int, polling_interval_millis: int
    ) -> float | None:
        """Seconds to wait before a live chat's next poll; None when no poll is affordable
        before the reset (wait for it)."""
        state = await self.state(now)
        return plan_interval(
            self.settings,
            left=state.left - self.settings.youtube_quota_reserve_units,
            seconds_left=seconds_to_reset(now),
            live_chats=live_chats,
            polling_interval_millis=polling_interval_millis,
        )


def plan_interval(
    settings: Settings,
    *,
    left: int,
    seconds_left: float,
    live_chats: int,
    polling_interval_millis: int,
    cost: int = 5,
) -> float | None:
    """The even spread of ``left`` units over ``live_chats`` chats and the planning horizon:
    each chat's share of polls, as a wait between two of them."""
    if left < cost:
        return None
    horizon = min(seconds_left, settings.youtube_plan_hours * 3600)
    polls = left // cost
    spread = horizon * max(1, live_chats) / polls
    return max(spread, settings.youtube_min_poll_seconds, polling_interval_millis / 1000)
