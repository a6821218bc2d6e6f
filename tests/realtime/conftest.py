"""Socket.IO tests: real python-socketio clients against a real server on loopback, each
recording what it receives."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
import socketio

from tests.conftest import LiveServer
from tests.worlds import Person, world

__all__ = ["world"]

Predicate = Callable[[Any], bool]


class SocketClient:
    """A python-socketio client that keeps every server event it gets, in order."""

    def __init__(self, http_session: aiohttp.ClientSession | None = None) -> None:
        self.sio = socketio.AsyncClient(reconnection=False, http_session=http_session)
        self.events: list[tuple[str, Any]] = []
        self._arrived = asyncio.Condition()
        #: Set once the server has closed the connection (or the client left).
        self.gone = asyncio.Event()
        self.sio.on("*", self._record)
        self.sio.on("disconnect", self._disconnected)

    async def _disconnected(self, *_: Any) -> None:
        self.gone.set()

    async def _record(self, event: str, data: Any = None) -> None:
        async with self._arrived:
            self.events.append((event, data))
            self._arrived.notify_all()

    async def connect(
        self,
        url: str,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        transports: tuple[str, ...] = ("websocket",),
        overlay_key: str | None = None,
    ) -> "SocketClient":
        auth: dict[str, str] | None = {"token": token} if token else None
        if overlay_key is not None:
            auth = {**(auth or {}), "overlay_key": overlay_key}
        await self.sio.connect(
            url,
            auth=auth,
            headers=headers or {},
            transports=list(transports),
            wait_timeout=10,
        )
        return self

    async def call(self, event: str, data: Any = None, within: float = 10) -> Any:
        return await self.sio.call(event, data, timeout=within)

    def received(self, event: str) -> list[Any]:
        return [data for name, data in self.events if name == event]

    async def wait_for(
        self, event: str, predicate: Predicate = lambda _: True, within: float = 10
    ) -> Any:
        """The first ``event`` (already received or still to come) that ``predicate`` accepts."""

        def found() -> Any:
            return next((d for n, d in self.events if n == event and predicate(d)), None)

        async with self._arrived:
            await asyncio.wait_for(self._arrived.wait_for(lambda: found() is not None), within)
            return found()

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()


Connect = Callable[..., Awaitable[SocketClient]]


@pytest.fixture
async def connect(live_server: LiveServer) -> AsyncIterator[Connect]:
    """Connect a client as ``person`` (anonymous when None), or as an overlay with its
    ``overlay_key``, to the live server, or to ``url``."""
    clients: list[SocketClient] = []

    async def open_client(
        person: Person | None = None,
        url: str | None = None,
        token: str | None = None,
        overlay_key: str | None = None,
    ) -> SocketClient:
        client = SocketClient()
        clients.append(client)
        if token is None and person is not None:
            token = person.token
        return await client.connect(url or live_server.url, token, overlay_key=overlay_key)

    yield open_client
    for client in clients:
        await client.close()
