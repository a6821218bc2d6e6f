"""Fixed-window rate limits kept in Redis, shared by every process."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis

from app.kit.errors import RateLimited

# Gives back one attempt, never below zero; DECR keeps the window's expiry.
_REFUND = """
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count > 0 then
    return redis.call('DECR', KEYS[1])
end
return 0
"""


async def hit(redis: Redis, key: str, limit: int, window_seconds: int) -> None:
    """Count one attempt against ``key``; raise RateLimited once ``limit`` is passed."""
    full_key = f"ratelimit:{key}"
    async with redis.pipeline(transaction=True) as pipe:
        pipe.set(full_key, 0, ex=window_seconds, nx=True)
        pipe.incr(full_key)
        pipe.ttl(full_key)
        _, count, ttl = await pipe.execute()
    if int(count) > limit:
        raise RateLimited(retry_after=max(int(ttl), 1))


async def refund(redis: Redis, key: str) -> None:
    """Give back one attempt counted against ``key`` by :func:`hit`."""
    await redis.eval(_REFUND, 1, f"ratelimit:{key}")  # type: ignore[misc]


@asynccontextmanager
async def failures(
    redis: Redis,
    key: str,
    limit: int,
    window_seconds: int,
    counted: type[BaseException],
) -> AsyncIterator[None]:
    """Limit the attempts that end in ``counted`` (e.g. a wrong password) to ``limit`` per
    window: an attempt is counted before it runs, so concurrent ones cannot slip past the
    limit, and given back when it ends any other way."""
    await hit(redis, key, limit, window_seconds)
    try:
        yield
    except counted:
        raise
    except Exception:
        await refund(redis, key)
        raise
    await refund(redis, key)


async def reset(redis: Redis, key: str) -> None:
    await redis.delete(f"ratelimit:{key}")
