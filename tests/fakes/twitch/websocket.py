"""A fake EventSub WebSocket server (aiohttp, loopback): welcomes, keepalives, notifications,
revocations and ``session_reconnect``, in Twitch's frame format."""

import asyncio
import secrets
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

from aiohttp import web

from tests.fakes.twitch.objects import JsonObject, new_id, rfc3339


@dataclass
class Connection:
    session_id: str
    ws: web.WebSocketResponse
    sent: list[JsonObject] = field(default_factory=list)
    #: Set once the connection is over (closed by either side).
    ended: asyncio.Event = field(default_factory=asyncio.Event)


class FakeEventSubWebSocket:
    """Serves ``/ws``. Each new connection gets a new session (a reconnect URL's keeps its own),
    then a keepalive whenever nothing else was sent for ``keepalive_timeout_seconds`` — unless
    ``silent`` is set, which is how a test makes the connection look dead."""

    def __init__(self, *, keepalive_timeout_seconds: int = 10) -> None:
        self.keepalive_timeout_seconds = keepalive_timeout_seconds
        self.silent = False
        self.connections: list[Connection] = []
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._connected = asyncio.Condition()

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> Self:
        app = web.Application()
        app.router.add_get("/ws", self._serve)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        self.url = f"ws://{host}:{self._runner.addresses[0][1]}/ws"
        return self

    async def stop(self) -> None:
        for connection in self.connections:
            await connection.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def current(self) -> Connection:
        return self.connections[-1]

    async def wait_for_connections(self, count: int) -> None:
        """Until ``count`` connections were welcomed (wrap in ``asyncio.timeout``)."""
        async with self._connected:
            await self._connected.wait_for(lambda: len(self.connections) >= count)

    def connection(self, session_id: str) -> Connection:
        """The newest connection of a session."""
        return next(c for c in reversed(self.connections) if c.session_id == session_id)

    async def send_notification(
        self, subscription: JsonObject, event: JsonObject, *, message_id: str | None = None
    ) -> str:
        """A notification on the connection of the subscription's session (when the
        subscription names one of ours), else on the newest; its message id."""
        message_id = message_id or new_id()
        metadata = {
            "message_id": message_id,
            "message_type": "notification",
            "message_timestamp": rfc3339(),
            "subscription_type": subscription["type"],
            "subscription_version": subscription["version"],
        }
        await self._send(
            self._connection_of(subscription),
            metadata,
            {"subscription": subscription, "event": event},
        )
        return message_id

    async def send_revocation(
        self, subscription: JsonObject, reason: str = "authorization_revoked"
    ) -> None:
        metadata = {
            "message_id": new_id(),
            "message_type": "revocation",
            "message_timestamp": rfc3339(),
            "subscription_type": subscription["type"],
            "subscription_version": subscription["version"],
        }
        await self._send(
            self._connection_of(subscription),
            metadata,
            {"subscription": subscription | {"status": reason}},
        )

    def _connection_of(self, subscription: JsonObject) -> Connection:
        session_id = subscription.get("transport", {}).get("session_id")
        known = {connection.session_id for connection in self.connections}
        return self.connection(session_id) if session_id in known else self.current

    async def ask_to_reconnect(self) -> None:
        """``session_reconnect`` on the newest connection, pointing at a URL keeping its session."""
        connection = self.current
        session = self._session(connection.session_id, "reconnecting")
        session["reconnect_url"] = f"{self.url}?reconnect={connection.session_id}"
        session["keepalive_timeout_seconds"] = None
        await self._send(connection, self._metadata("session_reconnect"), {"session": session})

    async def _serve(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        session_id = request.query.get("reconnect") or secrets.token_urlsafe(21)
        connection = Connection(session_id, ws)
        session = self._session(session_id, "connected")
        await self._send(connection, self._metadata("session_welcome"), {"session": session})
        async with self._connected:
            self.connections.append(connection)
            self._connected.notify_all()
        keepalive = asyncio.create_task(self._keepalives(connection))
        try:
            async for _ in ws:
                pass  # Clients send nothing but control frames.
        finally:
            keepalive.cancel()
            connection.ended.set()
        return ws

    async def _keepalives(self, connection: Connection) -> None:
        while not connection.ws.closed:
            sent = len(connection.sent)
            await asyncio.sleep(self.keepalive_timeout_seconds * 0.8)
            if not self.silent and len(connection.sent) == sent and not connection.ws.closed:
                await self._send(connection, self._metadata("session_keepalive"), {})

    def _session(self, session_id: str, status: str) -> JsonObject:
        return {
            "id": session_id,
            "status": status,
            "connected_at": rfc3339(),
            "keepalive_timeout_seconds": self.keepalive_timeout_seconds,
            "reconnect_url": None,
            "recovery_url": None,
        }

    @staticmethod
    def _metadata(message_type: str) -> JsonObject:
        return {
            "message_id": new_id(),
            "message_type": message_type,
            "message_timestamp": rfc3339(),
        }

    @staticmethod
    async def _send(connection: Connection, metadata: JsonObject, payload: JsonObject) -> None:
        frame = {"metadata": metadata, "payload": payload}
        connection.sent.append(frame)
        await connection.ws.send_json(frame)
