"""A Redis lease: one holder at a time among processes, kept alive by its holder's renewals,
with a fencing token that grows with every acquisition.

The holder stores its fencing token as the lease's value (``SET NX PX``). Renewing and releasing
compare that value first (one Lua script each), so a holder whose lease ran out can neither
extend nor delete its successor's. A holder that fails to renew must stop at once; between its
last renewal and the expiry, nobody else holds the lease. Side effects that must never come from
a stale holder check ``held`` (or carry the token) right before they happen."""

from redis.asyncio import Redis

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""


class Lease:
    def __init__(self, redis: Redis, name: str, ttl_ms: int) -> None:
        if ttl_ms < 100:
            raise ValueError("a lease lives at least 100 ms")
        self._redis = redis
        self.name = name
        self.ttl_ms = ttl_ms

    @property
    def _fence(self) -> str:
        return f"{self.name}:fence"

    async def acquire(self) -> int | None:
        """The lease's new fencing token if it was free, else None."""
        token = int(await self._redis.incr(self._fence))
        taken = await self._redis.set(self.name, str(token), nx=True, px=self.ttl_ms)
        return token if taken else None

    async def renew(self, token: int) -> bool:
        """Extend the lease by its ttl; False when it is no longer ``token``'s."""
        renewed = await self._redis.eval(_RENEW, 1, self.name, str(token), str(self.ttl_ms))  # type: ignore[misc]
        return bool(renewed)

    async def held(self, token: int) -> bool:
        return bool(await self._redis.get(self.name) == str(token))

    async def release(self, token: int) -> None:
        """Give the lease up at once (if still ``token``'s), so another process takes over now."""
        await self._redis.eval(_RELEASE, 1, self.name, str(token))  # type: ignore[misc]
