"""Publishes Socket.IO events from any process through Redis (a write-only Socket.IO manager)."""

from typing import Any

import msgspec
import socketio


class SocketEmitter:
    def __init__(self, redis_url: str, channel: str = "socketio") -> None:
        self._manager = socketio.AsyncRedisManager(redis_url, channel=channel, write_only=True)

    async def emit(self, event: str, data: Any, room: str) -> None:
        await self._manager.emit(event, msgspec.to_builtins(data), room=room, namespace="/")

    async def close(self) -> None:
        redis = getattr(self._manager, "redis", None)
        if redis is not None:
            await redis.aclose()
