"""The EventSub WebSocket transport, for development without a public HTTPS callback: one
connection, its session, keepalives and reconnects, as an async iterator of messages."""

import asyncio
from datetime import datetime
from types import TracebackType
from typing import Any, Final, Self

import aiohttp
import msgspec

from integrations.twitch.errors import TwitchUnavailable
from integrations.twitch.eventsub import (
    EventSubMessage,
    MalformedMessage,
    Subscription,
    decode,
    parse_timestamp,
)

DEFAULT_URL: Final = "wss://eventsub.wss.twitch.tv/ws"
#: Twitch's default when a welcome does not say (it always does).
DEFAULT_KEEPALIVE_SECONDS: Final = 10


class SessionStarted(msgspec.Struct, frozen=True, kw_only=True):
    """A new session: subscribe now (transport ``{"method": "websocket", "session_id": ...}``).

    Yielded on the first connection and after one was lost, since a lost session's
    subscriptions are gone; not after a ``session_reconnect``, which keeps them."""

    session_id: str
    keepalive_timeout_seconds: int
    connected_at: datetime | None = None


class EventSubWebSocket:
    """``async for item in EventSubWebSocket(): ...`` yields a ``SessionStarted`` first, then
    the ``EventSubMessage`` of every notification and revocation, with the same message ids as
    webhooks (dedupe them in the same inbox: Twitch may resend after a reconnect)."""

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        keepalive_slack_seconds: float = 5,
        connect_timeout_seconds: float = 10,
        max_connect_attempts: int = 5,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.url = url
        self._slack = keepalive_slack_seconds
        self._connect_timeout = connect_timeout_seconds
        self._max_connect_attempts = max_connect_attempts
        self._own_session = session is None
        self._http = session
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._keepalive: float = DEFAULT_KEEPALIVE_SECONDS
        self._closed = False
        #: The current session's id, None before the first welcome.
        self.session_id: str | None = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        await self.close()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> SessionStarted | EventSubMessage:
        while not self._closed:
            if self._ws is None:
                return await self._start_session()
            frame = await self._receive()
            if frame is None:
                # Silence past the keepalive, or the connection dropped: the session is lost.
                await self._drop()
                continue
            kind = frame.metadata.message_type
            if kind == "session_reconnect" and frame.payload.session is not None:
                await self._move_to(frame.payload.session.reconnect_url or self.url)
            elif kind in ("notification", "revocation"):
                return _message(frame)
            # session_keepalive (and anything new) only proves the connection is alive.
        raise StopAsyncIteration

    async def close(self) -> None:
        """Close the connection and end the iteration."""
        self._closed = True
        await self._drop()
        if self._own_session and self._http is not None:
            await self._http.close()
            self._http = None

    async def _start_session(self) -> SessionStarted:
        ws, welcome = await self._connect(self.url)
        self._ws = ws
        return welcome

    async def _move_to(self, reconnect_url: str) -> None:
        # Twitch's order: connect to the new URL, and only once it welcomes us, drop the old one.
        new_ws, _ = await self._connect(reconnect_url)
        old, self._ws = self._ws, new_ws
        if old is not None:
            await old.close()

    async def _connect(self, url: str) -> tuple[aiohttp.ClientWebSocketResponse, SessionStarted]:
        if self._http is None:
            self._http = aiohttp.ClientSession()
        for attempt in range(self._max_connect_attempts):
            try:
                ws = await self._http.ws_connect(url, timeout=aiohttp.ClientWSTimeout(ws_close=5))
            except (aiohttp.ClientError, OSError, TimeoutError):
                await asyncio.sleep(min(0.2 * 2**attempt, 5))
                continue
            try:
                message = await ws.receive(timeout=self._connect_timeout)
            except TimeoutError:
                await ws.close()
                continue
            frame = _frame(message)
            session = frame.payload.session if frame is not None else None
            if frame is None or frame.metadata.message_type != "session_welcome" or not session:
                await ws.close()
                raise MalformedMessage("an EventSub connection that does not start with a welcome")
            self._keepalive = session.keepalive_timeout_seconds or DEFAULT_KEEPALIVE_SECONDS
            self.session_id = session.id
            connected_at = parse_timestamp(session.connected_at) if session.connected_at else None
            return ws, SessionStarted(
                session_id=session.id,
                keepalive_timeout_seconds=self._keepalive,
                connected_at=connected_at,
            )
        raise TwitchUnavailable(f"EventSub WebSocket unreachable at {url}")

    async def _receive(self) -> "_Frame | None":
        assert self._ws is not None
        while True:
            try:
                message = await self._ws.receive(timeout=self._keepalive + self._slack)
            except TimeoutError:
                return None
            if message.type in (aiohttp.WSMsgType.PING, aiohttp.WSMsgType.PONG):
                continue
            if message.type != aiohttp.WSMsgType.TEXT:
                return None
            return _frame(message)

    async def _drop(self) -> None:
        ws, self._ws = self._ws, None
        if ws is not None and not ws.closed:
            await ws.close()


class _Session(msgspec.Struct):
    id: str
    status: str
    keepalive_timeout_seconds: int | None = None
    reconnect_url: str | None = None
    connected_at: str | None = None


class _Metadata(msgspec.Struct):
    message_id: str
    message_type: str
    message_timestamp: str
    subscription_type: str | None = None
    subscription_version: str | None = None


class _Payload(msgspec.Struct):
    session: _Session | None = None
    subscription: Subscription | None = None
    event: dict[str, Any] | None = None


class _Frame(msgspec.Struct):
    metadata: _Metadata
    payload: _Payload


def _frame(message: aiohttp.WSMessage) -> _Frame | None:
    if message.type != aiohttp.WSMsgType.TEXT:
        return None
    return decode(message.data.encode(), _Frame)


def _message(frame: _Frame) -> EventSubMessage:
    metadata, payload = frame.metadata, frame.payload
    if payload.subscription is None:
        raise MalformedMessage(f"a {metadata.message_type} without its subscription")
    if metadata.message_type == "notification" and payload.event is None:
        raise MalformedMessage("a notification without an event")
    try:
        timestamp = parse_timestamp(metadata.message_timestamp)
    except ValueError as exc:
        raise MalformedMessage(str(exc)) from exc
    return EventSubMessage(
        message_type="notification" if metadata.message_type == "notification" else "revocation",
        message_id=metadata.message_id,
        timestamp=timestamp,
        subscription=payload.subscription,
        event=payload.event,
    )
