"""Publishes Socket.IO events from any process through Redis (a write-only Socket.IO manager)."""

import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

import msgspec
import socketio
from redis.asyncio import Redis

from app.kit.redisconn import connection_options

log = logging.getLogger(__name__)

#: Told of each event this process publishes, as it publishes it (``event``, plain ``data``).
Tap = Callable[[str, Any], None]

#: One event for :meth:`SocketEmitter.emit_many`: (event, data, room).
Event = tuple[str, Any, str]


class SocketEmitter:
    def __init__(self, redis_url: str, channel: str = "socketio") -> None:
        self._manager = socketio.AsyncRedisManager(
            redis_url, channel=channel, write_only=True, redis_options=connection_options()
        )
        self._channel = channel
        #: For :meth:`emit_many`'s pipelines; connects on first use.
        self._redis: Redis = Redis.from_url(redis_url, **connection_options())
        self.taps: list[Tap] = []

    async def emit(self, event: str, data: Any, room: str) -> None:
        plain = msgspec.to_builtins(data)
        for tap in self.taps:
            tap(event, plain)
        await self._manager.emit(event, plain, room=room, namespace="/")

    async def emit_many(self, events: Sequence[Event]) -> None:
        """Publish events in one round trip (a pipeline), in their order: what :meth:`emit`
        publishes for each, as every process's Socket.IO manager reads it. Raises if Redis
        cannot be reached (the caller logs it, as for :meth:`emit`'s retried failure)."""
        if not events:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for event, data, room in events:
                plain = msgspec.to_builtins(data)
                for tap in self.taps:
                    tap(event, plain)
                pipe.publish(self._channel, json.dumps(self._message(event, plain, room)))
            await pipe.execute()

    def _message(self, event: str, plain: Any, room: str) -> dict[str, Any]:
        """The message python-socketio's pub/sub manager publishes for an event to a room
        (``AsyncPubSubManager.emit``; checked against it in tests/kit/test_emitter.py). Plain
        data carries no bytes, so it is never a binary packet."""
        return {
            "method": "emit",
            "event": event,
            "data": [plain],
            "binary": False,
            "namespace": "/",
            "room": room,
            "skip_sid": None,
            "callback": None,
            "host_id": self._manager.host_id,
        }

    async def close(self) -> None:
        await self._redis.aclose()
        redis = getattr(self._manager, "redis", None)
        if redis is not None:
            await redis.aclose()
