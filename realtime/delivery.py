"""Cheaper delivery of one event to many WebSocket clients.

A broadcast to a room of thousands costs, per recipient, what python-socketio, python-engineio
and uvicorn spend around the bytes they write: a packet handed to the client's send queue, its
writer task woken, the packet encoded, wrapped in an ASGI message, framed by ``websockets``,
and written. A server-to-client WebSocket frame is not masked, so one broadcast is the very same
bytes for every recipient. Here a broadcast is encoded and framed once (engine.io ``4`` message,
socket.io packet, WebSocket text frame header), and those bytes are written straight to each
recipient's transport:

- directly, when the client's writer is idle (waiting on an empty send queue) and its transport
  is writable: nothing sent to that client before can still be on its way;
- otherwise queued, as a :class:`Framed` packet, behind what the client is already waiting for
  (acks, events to that client alone): the writer (:func:`_poll`) writes it in its turn, so each
  client gets its packets in the order they were sent.

Flow control: a queued broadcast is written only once the transport is writable again (below
its high-water mark), as uvicorn's own ``send`` waits. A client that stops reading (or reads too
slowly) while broadcasts keep coming is disconnected once its unwritten broadcast bytes (queued
here plus the transport's write buffer) pass :data:`HARD_LIMIT`: the server's memory does not
grow without bound for it, and a client that catches up reconnects and reloads its state.

Everything else keeps the libraries' path: packets with binary attachments (more than one
engine.io packet), callbacks (acks of server emits), long-polling clients, a socket in the middle
of its upgrade, a client whose pings stopped, and any connection whose uvicorn protocol is not
the sans-I/O one this module knows (``ws="websockets-sansio"``, see app.cli.uvicorn_config).

This module is the only one that reaches into the libraries' private parts; it relies on the
versions of :data:`PINNED` (tests/realtime/test_delivery.py fails when one changes) and checks at
run time that what it uses exists, using the libraries' path when it does not.
"""

import asyncio
import collections
import logging
import struct
import time
from collections.abc import Callable
from typing import Any

import socketio
from engineio import packet as engine_packet
from engineio.async_drivers import asgi as engineio_asgi
from engineio.async_socket import AsyncSocket
from socketio import packet as socket_packet
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import Protocol, State
from websockets.server import ServerProtocol

log = logging.getLogger("streampools.realtime")

#: The library versions whose private attributes this module relies on.
PINNED = {
    "python-engineio": "4.15.1",
    "python-socketio": "5.18.1",
    "uvicorn": "0.54.0",
    "websockets": "17.4",
}

#: Broadcast bytes one client may have unwritten (queued here and in its transport's write
#: buffer) before it is disconnected as a client that does not read. Some thousands of this
#: platform's events; a few seconds of a busy channel are some tens of kilobytes.
HARD_LIMIT = 1024 * 1024

#: The uvicorn protocol attributes used (set in its ``__init__`` and ``connection_made``).
PROTOCOL_ATTRIBUTES = (
    "transport",
    "writable",
    "close_sent",
    "disconnected",
    "handshake_complete",
    "queue",
)
#: The engine.io socket attributes used (base_socket.BaseSocket and AsyncSocket).
SOCKET_ATTRIBUTES = ("queue", "upgraded", "closing", "closed", "last_ping", "server")

_library_poll = AsyncSocket.poll


def websocket_frame(payload: bytes) -> bytes:
    """``payload`` as one complete, unmasked WebSocket text frame (RFC 6455 §5.2)."""
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", 0x81, length)
    elif length < 1 << 16:
        header = struct.pack("!BBH", 0x81, 126, length)
    else:
        header = struct.pack("!BBQ", 0x81, 127, length)
    return header + payload


class Framed(engine_packet.Packet):  # type: ignore[misc]
    """An engine.io MESSAGE packet that also carries its WebSocket frame, built once for every
    recipient. Anything that does not know it sees an ordinary text packet."""

    def __init__(self, text: str) -> None:
        super().__init__(engine_packet.MESSAGE, text)
        self.frame = websocket_frame(self.encode().encode())


class Link:
    """The WebSocket connection of one engine.io socket, as this module writes to it."""

    __slots__ = ("backlog", "idle", "protocol", "queued", "transport")

    def __init__(self, protocol: Any) -> None:
        self.protocol = protocol
        self.transport: asyncio.Transport = protocol.transport
        #: The writer waits on an empty queue, with nothing held back: a frame written now
        #: comes after everything sent to this client before.
        self.idle = False
        #: Broadcast bytes queued and not yet written.
        self.queued = 0
        #: Packets the writer took off the queue and has not written yet, in order.
        self.backlog: list[Any] = []

    def open(self) -> bool:
        protocol = self.protocol
        return not (protocol.close_sent or protocol.disconnected or self.transport.is_closing())

    def deliver(self, queue: Any, framed: Framed) -> None:
        """Write ``framed`` now if nothing is ahead of it, else queue it behind the rest."""
        if self.idle and queue.empty() and self.protocol.writable.is_set():
            if self.open():
                self.transport.write(framed.frame)
            return
        size = len(framed.frame)
        if self.queued + size + self.transport.get_write_buffer_size() > HARD_LIMIT:
            if not self.transport.is_closing():
                log.warning("disconnecting a Socket.IO client that does not read its events")
                self.transport.abort()
            return
        self.queued += size
        queue.put_nowait(framed)

    async def write(self, framed: Framed) -> None:
        """Write a queued broadcast, once the transport takes more (the writer's turn)."""
        await self.protocol.writable.wait()
        self.queued -= len(framed.frame)
        if self.open():
            self.transport.write(framed.frame)


class LeanQueue:
    """A FIFO queue with what engine.io asks of a socket's send queue and uvicorn of its
    receive queue (``put``, ``put_nowait``, ``get``, ``get_nowait``, ``empty``, ``qsize``,
    ``task_done``, ``join``), as asyncio.Queue behaves, without its three deques and event
    per queue: some 2.5 KB that every idle connection kept twice."""

    __slots__ = ("_getters", "_items", "_joiners", "_unfinished")

    def __init__(self) -> None:
        self._items: collections.deque[Any] | None = None
        self._getters: list[asyncio.Future[None]] | None = None
        self._joiners: list[asyncio.Future[None]] | None = None
        self._unfinished = 0

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items) if self._items else 0

    def put_nowait(self, item: Any) -> None:
        if self._items is None:
            self._items = collections.deque()
        self._items.append(item)
        self._unfinished += 1
        self._wake_getter()

    async def put(self, item: Any) -> None:
        self.put_nowait(item)

    def get_nowait(self) -> Any:
        items = self._items
        if not items:
            raise asyncio.QueueEmpty
        item = items.popleft()
        if not items:
            self._items = None
        return item

    async def get(self) -> Any:
        while not self._items:
            getter = asyncio.get_running_loop().create_future()
            if self._getters is None:
                self._getters = []
            self._getters.append(getter)
            try:
                await getter
            except BaseException:
                getter.cancel()
                if self._getters is not None and getter in self._getters:
                    self._getters.remove(getter)
                if self._items:  # woken, then cancelled: the next getter takes the item
                    self._wake_getter()
                raise
        return self.get_nowait()

    def task_done(self) -> None:
        if self._unfinished <= 0:
            raise ValueError("task_done() called too many times")
        self._unfinished -= 1
        if self._unfinished == 0 and self._joiners:
            for joiner in self._joiners:
                if not joiner.done():
                    joiner.set_result(None)
            self._joiners = None

    async def join(self) -> None:
        if self._unfinished:
            joiner = asyncio.get_running_loop().create_future()
            if self._joiners is None:
                self._joiners = []
            self._joiners.append(joiner)
            await joiner

    def _wake_getter(self) -> None:
        getters = self._getters
        while getters:
            getter = getters.pop(0)
            if not getter.done():
                getter.set_result(None)
                break
        if not getters:
            self._getters = None


def link_of(socket: Any) -> Link | None:
    link: Link | None = socket.__dict__.get("_streampools_link")
    return link


def protocol_of(send: Any) -> Any:
    """The uvicorn sans-I/O WebSocket protocol behind an ASGI ``send`` callable (its bound
    method, possibly wrapped by middleware), or None when it cannot be found."""
    pending, seen = [send], 0
    while pending and seen < 32:
        candidate = pending.pop(0)
        seen += 1
        if isinstance(candidate, WebSocketsSansIOProtocol):
            if all(hasattr(candidate, name) for name in PROTOCOL_ATTRIBUTES):
                return candidate
            return None
        for name in ("__self__", "__wrapped__", "__func__"):
            inner = getattr(candidate, name, None)
            if inner is not None:
                pending.append(inner)
        for cell in getattr(candidate, "__closure__", None) or ():
            try:
                pending.append(cell.cell_contents)
            except ValueError:  # an empty cell
                continue
    return None


class LinkedWebSocket(engineio_asgi.WebSocket):  # type: ignore[misc]
    """engine.io's ASGI WebSocket driver, which also links the engine.io socket it serves to
    the connection's uvicorn protocol (what :func:`_poll` and :class:`Link` write to), and lets
    go of what only the handshake needed (memory every idle connection would keep)."""

    async def __call__(self, environ: dict[str, Any]) -> Any:
        socket = getattr(self.handler, "__self__", None)
        protocol = protocol_of(environ.get("asgi.send"))
        # Nothing waits on uvicorn's receive queue yet: its one reader is the handler, below.
        if (
            protocol is not None
            and isinstance(protocol.queue, asyncio.Queue)
            and protocol.queue.empty()
        ):
            protocol.queue = LeanQueue()
        if (
            isinstance(socket, AsyncSocket)
            and protocol is not None
            and all(hasattr(socket, name) for name in SOCKET_ATTRIBUTES)
        ):
            socket.__dict__["_streampools_link"] = Link(protocol)
        # The library's __call__, with the release between the accept and the handler.
        self.asgi_receive = environ["asgi.receive"]
        self.asgi_send = environ["asgi.send"]
        await self.asgi_send({"type": "websocket.accept"})
        release_handshake(environ, protocol)
        await self.handler(self)
        return ""


def release_handshake(environ: dict[str, Any], protocol: Any) -> None:
    """Drop what the connection keeps from its handshake and never reads again: the request
    body reader engine.io made (an instance of a class made for each request, some 3 KB), the
    environ's copies of the request headers (``HTTP_*``: the ASGI scope in
    ``environ["asgi.scope"]["headers"]`` keeps them, and nothing here reads them after the
    accept), the handshake request websockets' parser keeps, and uvicorn's parsed request and
    response."""
    kept = {
        key: value
        for key, value in environ.items()
        if key != "wsgi.input" and not key.startswith("HTTP_")
    }
    environ.clear()  # in place: engine.io and python-socketio hold this very dict
    environ.update(kept)
    conn = getattr(protocol, "conn", None)
    if (
        isinstance(conn, ServerProtocol)
        and conn.state is State.OPEN
        and not getattr(conn.reader, "buffer", b"x")
    ):
        # websockets' server parser keeps the handshake request (and its headers) in its
        # frame for the connection's life; from here on it only parses frames, as the base
        # parser does. Nothing is half-parsed: the client's frames come after the accept,
        # written just now, and the buffer is empty. (websockets swaps parsers the same way.)
        conn.parser = Protocol.parse(conn)
        next(conn.parser)
    if protocol is not None and protocol.handshake_complete and hasattr(protocol, "response"):
        protocol.request = None
        protocol.response = None


class LocalFanout(socketio.AsyncManager):  # type: ignore[misc]
    """Delivers an event to this process's clients in a room, encoded and framed once, no task
    per recipient. Callbacks (acks) keep the library's path. Listeners (:meth:`listen`) hear
    every event this process delivers, whichever process emitted it."""

    def listen(self, listener: Callable[[str, Any], None]) -> None:
        self.__dict__.setdefault("_listeners", []).append(listener)

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str,
        room: str | None = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: str | None = None,
        **kwargs: Any,
    ) -> None:
        room = to or room
        for listener in self.__dict__.get("_listeners", ()):
            listener(event, data)
        if callback is not None or namespace not in self.rooms:
            await super().emit(
                event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, **kwargs
            )
            return
        if isinstance(data, tuple):
            args = list(data)
        elif data is not None:
            args = [data]
        else:
            args = []
        skip = set(skip_sid if isinstance(skip_sid, list) else [skip_sid])
        encoded = self.server.packet_class(
            socket_packet.EVENT, namespace=namespace, data=[event, *args]
        ).encode()
        recipients = [
            eio_sid for sid, eio_sid in self.get_participants(namespace, room) if sid not in skip
        ]
        if isinstance(encoded, list):  # binary attachments: several engine.io packets
            for eio_sid in recipients:
                # A packet per recipient: a packet caches its first encoding, which for a
                # binary one differs between WebSocket (bytes) and long-polling (base64).
                for part in encoded:
                    packet = engine_packet.Packet(engine_packet.MESSAGE, part)
                    await self.server._send_eio_packet(eio_sid, packet)
            return
        await self._deliver(recipients, encoded)

    async def _deliver(self, recipients: list[str], text: str) -> None:
        eio = self.server.eio
        sockets = eio.sockets
        ping_timeout = eio.ping_timeout
        now = time.time()
        framed = Framed(text)
        plain = engine_packet.Packet(engine_packet.MESSAGE, text)
        for eio_sid in recipients:
            socket = sockets.get(eio_sid)
            link = None if socket is None else socket.__dict__.get("_streampools_link")
            if (
                link is None
                or not socket.upgraded
                or socket.closing
                or socket.closed
                # A client whose pings stopped: the library's path closes it.
                or (socket.last_ping and now - socket.last_ping > ping_timeout)
            ):
                await self.server._send_eio_packet(eio_sid, plain)
                continue
            link.deliver(socket.queue, framed)


class FanoutRedisManager(socketio.AsyncRedisManager, LocalFanout):  # type: ignore[misc]
    """Redis pub/sub between processes; :class:`LocalFanout` for the local deliveries."""


async def _poll(self: AsyncSocket) -> list[Any]:
    """The WebSocket writer's wait for packets (the library's ``poll``): packets to send in
    order, an empty list once the socket is closing. Queued :class:`Framed` broadcasts are
    written here, each after the packets ahead of it were returned (and so written)."""
    if not self.upgraded:
        packets: list[Any] = await _library_poll(self)
        return packets
    queue: LeanQueue = self.queue
    link = link_of(self)
    if link is None:
        return await _take(queue)
    backlog = link.backlog
    while True:
        if not backlog:
            if queue.empty():
                # Waiting directly: on a WebSocket the library's timeout is redundant (the
                # reader ends the connection on a missed ping and wakes this writer).
                link.idle = True
                try:
                    item = await queue.get()
                finally:
                    link.idle = False
                queue.task_done()
                backlog.append(item)
            while not queue.empty():
                backlog.append(queue.get_nowait())
                queue.task_done()
        packets = []
        while backlog:
            item = backlog[0]
            if item is None:  # the writer stops after the packets ahead of it
                if not packets:
                    backlog.clear()
                return packets
            if isinstance(item, Framed):
                if packets:
                    return packets
                del backlog[0]
                await link.write(item)
                continue
            packets.append(item)
            del backlog[0]
        if packets:
            return packets


async def _take(queue: Any) -> list[Any]:
    first = await queue.get()
    queue.task_done()
    if first is None:
        return []
    packets = [first]
    while not queue.empty():
        pkt = queue.get_nowait()
        queue.task_done()
        if pkt is None:
            queue.put_nowait(None)  # the writer stops after these
            break
        packets.append(pkt)
    return packets


def supported() -> bool:
    """Whether the libraries still have what this module uses (checked once, at start)."""
    return (
        callable(getattr(AsyncSocket, "poll", None))
        and callable(getattr(engineio_asgi, "WebSocket", None))
        and hasattr(engineio_asgi, "_async")
        and "websocket" in engineio_asgi._async
        and callable(getattr(socketio.AsyncServer, "_send_eio_packet", None))
    )


def install(server: socketio.AsyncServer) -> None:
    """Have ``server``'s WebSocket connections written as above: engine.io's writer waits
    through :func:`_poll`, and its WebSocket driver links each socket to its connection. With
    libraries that lack what this relies on, everything keeps the libraries' path."""
    if not supported():
        log.warning("python-engineio changed: broadcasts take the library's path")
        return
    AsyncSocket.poll = _poll
    eio = server.eio
    eio.create_queue = LeanQueue
    if isinstance(getattr(eio, "_async", None), dict) and "websocket" in eio._async:
        eio._async = {**eio._async, "websocket": LinkedWebSocket}
