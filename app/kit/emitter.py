"""Publishes Socket.IO events from any process through Redis (a write-only Socket.IO manager)."""

from collections.abc import Callable
from typing import Any

import msgspec
import socketio

#: Told of each event this process publishes, as it publishes it (``event``, plain ``data``).
Tap = Callable[[str, Any], None]


class SocketEmitter:
    def __init__(self, redis_url: str, channel: str = "socketio") -> None:
        self._manager = socketio.AsyncRedisManager(redis_url, channel=channel, write_only=True)
        self.taps: list[Tap] = []

    async def emit(self, event: str, data: Any, room: str) -> None:
        plain = msgspec.to_builtins(data)
        for tap in self.taps:
            tap(event, plain)
        await self._manager.emit(event, plain, room=room, namespace="/")

    async def close(self) -> None:
        redis = getattr(self._manager, "redis", None)
        if redis is not None:
            await redis.aclose()
