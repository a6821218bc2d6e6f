"""Coalescing of frequent updates: however often a key is touched, its publisher runs at most
once per interval across every process, and always after the latest touch."""

import asyncio
import logging
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis

log = logging.getLogger(__name__)

Publish = Callable[[], Awaitable[None]]


class Coalescer:
    def __init__(self, redis: Redis, interval_ms: int) -> None:
        self._redis = redis
        self._interval = interval_ms / 1000
        # The claim outlives the interval so a process that dies holding it delays the next
        # publication only briefly.
        self.claim_ms = interval_ms * 8
        self._tasks: set[asyncio.Task[None]] = set()

    def claim_key(self, key: str) -> str:
        """Whoever changes ``key`` also does ``SET claim_key NX PX claim_ms`` (in the same
        round trip as the change, in a script of its own): the one caller of an interval whose
        SET succeeds calls :meth:`schedule`; the changes after it ride along."""
        return f"coalesce:{key}"

    def schedule(self, key: str, publish: Publish) -> None:
        """Run ``publish`` at the end of the interval whose claim this caller won."""
        task = asyncio.create_task(self._publish_later(key, publish))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _publish_later(self, key: str, publish: Publish) -> None:
        await asyncio.sleep(self._interval)
        # Release before reading: a change that lands after this line claims a new round, and
        # one that landed before it is seen by ``publish``. Nothing is left unpublished.
        await self._redis.delete(self.claim_key(key))
        try:
            await publish()
        except Exception:
            log.exception("coalesced publication failed", extra={"key": key})

    async def close(self) -> None:
        """Drop pending publications (a later touch, or the pool's next transition, publishes
        again once the claim expires)."""
        pending = list(self._tasks)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
