"""Fixed-window rate limits kept in Redis, shared by every process."""

from redis.asyncio import Redis

from app.kit.errors import RateLimited


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


async def reset(redis: Redis, key: str) -> None:
    await redis.delete(f"ratelimit:{key}")
