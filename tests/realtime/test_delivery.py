"""realtime.delivery: broadcasts framed once and written straight to each WebSocket transport.

A real uvicorn (sans-I/O WebSocket protocol, as the web process runs it) serves a bare
python-socketio server with our manager; real clients (raw WebSocket clients that see each
frame, python-socketio clients over WebSocket, long-polling and an upgrade) check what they get
against what the server sent, in the order it sent it."""

import asyncio
import functools
import inspect
import json
import tomllib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from importlib.metadata import version
from typing import Any

import pytest
import socketio
import uvicorn
from engineio import async_socket
from engineio.async_drivers import asgi as engineio_asgi
from socketio import packet as socket_packet
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState
from websockets.asyncio.client import ClientConnection, connect
from websockets.frames import Frame, Opcode
from websockets.protocol import Protocol
from websockets.server import ServerProtocol

from app.kit.migrate import PROJECT_ROOT
from realtime import delivery
from tests.conftest import serve

ROOM = "everyone"


# -- the pins: what this module relies on, in the versions it was written against ----------


def test_the_libraries_are_the_versions_it_was_written_for() -> None:
    """When one of these changes, read realtime.delivery against the new version's code (the
    writer's contract, the ASGI driver, uvicorn's protocol), then move the pin."""
    lock = tomllib.loads((PROJECT_ROOT / "uv.lock").read_text())
    locked = {p["name"]: p["version"] for p in lock["package"] if p["name"] in delivery.PINNED}
    installed = {name: version(name) for name in delivery.PINNED}
    assert locked == delivery.PINNED, "uv.lock moved a library realtime.delivery relies on"
    assert installed == delivery.PINNED, "an installed library is not the one in uv.lock"


def test_the_private_parts_relied_on_exist() -> None:
    assert delivery.supported()
    # engine.io's WebSocket writer: a list of packets from poll, each sent as pkt.encode();
    # an empty list ends it. The driver keeps the handler (the socket's bound method).
    writer = inspect.getsource(async_socket.AsyncSocket._websocket_handler)
    assert "packets = await self.poll()" in writer
    assert "await ws.send(pkt.encode())" in writer
    assert "self.upgraded = True" in writer
    assert engineio_asgi._async["websocket"] is engineio_asgi.WebSocket
    driver = engineio_asgi.WebSocket(print, None)
    assert driver.handler is print
    assert "environ['asgi.send']" in inspect.getsource(engineio_asgi.WebSocket.__call__)
    # The socket's attributes, on a real one.
    server = socketio.AsyncServer(async_mode="asgi", client_manager=delivery.LocalFanout())
    socket = async_socket.AsyncSocket(server.eio, "sid")
    for name in delivery.SOCKET_ATTRIBUTES:
        assert hasattr(socket, name), name
    assert isinstance(socket.queue, asyncio.Queue)
    assert isinstance(server.eio.sockets, dict) and isinstance(server.eio.ping_timeout, int)
    assert server.eio._async["websocket"] is engineio_asgi.WebSocket
    delivery.install(server)
    assert server.eio._async["websocket"] is delivery.LinkedWebSocket
    assert engineio_asgi._async["websocket"] is engineio_asgi.WebSocket  # others untouched
    assert inspect.getsource(socketio.AsyncServer._send_eio_packet).count("send_packet") == 1
    # LinkedWebSocket.__call__ repeats the driver's, with the release after the accept.
    call = inspect.getsource(engineio_asgi.WebSocket.__call__)
    for line in (
        "self.asgi_receive = environ['asgi.receive']",
        "self.asgi_send = environ['asgi.send']",
        "await self.asgi_send({'type': 'websocket.accept'})",
        "await self.handler(self)",
        "return ''",
    ):
        assert line in call
    # Sockets get their queue from the server's create_queue; install gives them ours.
    assert "self.queue = self.server.create_queue()" in inspect.getsource(
        async_socket.AsyncSocket.__mro__[1].__init__
    )
    assert isinstance(server.eio.create_queue(), delivery.LeanQueue)


async def test_the_uvicorn_protocol_has_what_is_written_to() -> None:
    config = uvicorn.Config(lambda *_: None, ws="websockets-sansio")
    protocol = WebSocketsSansIOProtocol(config, ServerState(), {}, asyncio.get_running_loop())
    for name in delivery.PROTOCOL_ATTRIBUTES:
        assert hasattr(protocol, name), name
    assert isinstance(protocol.writable, asyncio.Event)
    assert delivery.protocol_of(protocol.send) is protocol
    # Found behind a wrapper's closure too; a callable without one gives None.
    send = protocol.send

    async def wrapped(message: Any) -> None:
        await send(message)

    assert delivery.protocol_of(wrapped) is protocol
    assert delivery.protocol_of(print) is None
    source = inspect.getsource(WebSocketsSansIOProtocol)
    for needle in (
        "self.writable.clear()",
        "self.writable.set()",
        "self.close_sent = True",
        # Set by the handshake alone, read by nothing after the accept (released then).
        "self.request = event",
        "self.response = self.conn.accept(event)",
        # Its receive queue: what the protocol does with it, all LeanQueue has.
        "self.queue.put_nowait(",
        "message = await self.queue.get()",
        "self.queue.empty()",
    ):
        assert needle in source
    assert source.count("self.request") == 1
    # websockets' server parser: the handshake, then the base frame parser, which keeps no
    # state across its wait for data; parsers are swapped by assigning and starting one.
    server_parse = inspect.getsource(ServerProtocol.parse)
    assert "request = yield from Request.parse(" in server_parse
    assert server_parse.rstrip().endswith("yield from super().parse()")
    assert "if (yield from self.reader.at_eof()):" in inspect.getsource(Protocol.parse)
    assert "self.parser = self.discard()\n        next(self.parser)" in inspect.getsource(Protocol)
    assert isinstance(ServerProtocol().reader.buffer, bytearray)
    assert source.count("self.queue.") == source.count("self.queue.put_nowait(") + 2


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 200_000])
def test_a_frame_is_what_websockets_frames(size: int) -> None:
    payload = ("é" * size).encode()[:size]
    expected = Frame(Opcode.TEXT, payload).serialize(mask=False, extensions=[])
    assert delivery.websocket_frame(payload) == expected


# -- the lean queue ---------------------------------------------------------------------


async def test_the_lean_queue_behaves_as_asyncio_queue() -> None:
    queue = delivery.LeanQueue()
    assert queue.empty() and queue.qsize() == 0
    with pytest.raises(asyncio.QueueEmpty):
        queue.get_nowait()
    waiting = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    await queue.put("a")
    queue.put_nowait("b")
    assert await waiting == "a"
    assert queue.qsize() == 1 and queue.get_nowait() == "b" and queue.empty()
    # A getter woken and then cancelled leaves its item to the next getter.
    first, second = asyncio.create_task(queue.get()), asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    queue.put_nowait("c")
    first.cancel()
    assert await second == "c"
    with pytest.raises(asyncio.CancelledError):
        await first
    # A timed-out wait (what engine.io's long-polling does) takes nothing.
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(queue.get(), 0.01)
    queue.put_nowait("d")
    assert await asyncio.wait_for(queue.get(), 1) == "d"
    # join waits for every item put to be marked done.
    joined = asyncio.create_task(queue.join())
    await asyncio.sleep(0)
    assert not joined.done()
    for _ in range(4):
        queue.task_done()
    await asyncio.wait_for(joined, 1)
    with pytest.raises(ValueError, match="too many times"):
        queue.task_done()


# -- a bare server with our manager --------------------------------------------------------


@dataclass
class Server:
    sio: socketio.AsyncServer
    url: str
    #: Per client sid, what the server sent it, in order: ("b"|"p"|"ack", number).
    sent: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    queued_writes: int = 0


@pytest.fixture
async def server(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Server]:
    sio = socketio.AsyncServer(
        async_mode="asgi", client_manager=delivery.LocalFanout(), logger=False
    )
    delivery.install(sio)
    counter = iter(range(1_000_000))
    url_holder: list[Server] = []

    async def connected(sid: str, environ: Any, auth: Any = None) -> None:
        url_holder[0].sent[sid] = []
        await sio.enter_room(sid, ROOM)

    async def tick(sid: str, data: Any = None) -> dict[str, int]:
        """A broadcast, an event to this client alone, then the ack: in that order."""
        number = next(counter)
        log = url_holder[0].sent
        await sio.emit("b", {"n": number}, to=ROOM)
        for member in list(log):
            if member in sio.manager.rooms["/"].get(ROOM, {}):
                log[member].append(("b", number))
        await sio.emit("p", {"n": number}, to=sid)
        log[sid].append(("p", number))
        log[sid].append(("ack", number))
        return {"n": number}

    sio.on("connect", connected)
    sio.on("tick", tick)
    original = delivery.Link.write

    async def counted(link: delivery.Link, framed: delivery.Framed) -> None:
        url_holder[0].queued_writes += 1
        await original(link, framed)

    monkeypatch.setattr(delivery.Link, "write", counted)
    async with serve(socketio.ASGIApp(sio)) as url:
        url_holder.append(Server(sio, url))
        yield url_holder[0]


class RawClient:
    """A WebSocket client speaking engine.io and socket.io by hand: it sees every text frame."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.sid = ""
        self.texts: list[str] = []

    @classmethod
    async def open(cls, url: str, **options: Any) -> "RawClient":
        ws_url = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        client = cls(await connect(ws_url, **options))
        opening = await client.connection.recv()
        assert isinstance(opening, str) and opening.startswith("0")
        await client.connection.send("40")
        connected = await client.connection.recv()
        assert isinstance(connected, str) and connected.startswith("40")
        client.sid = json.loads(connected[2:])["sid"]
        return client

    async def read_until(self, predicate: Any, within: float = 20) -> None:
        async with asyncio.timeout(within):
            while not predicate(self.texts):
                text = await self.connection.recv()
                assert isinstance(text, str)
                if text == "2":  # engine.io ping
                    await self.connection.send("3")
                    continue
                self.texts.append(text)

    def seen(self) -> list[tuple[str, int]]:
        """The events and acks received, as ("b"|"p"|"ack", number)."""
        seen = []
        for text in self.texts:
            if text.startswith("42"):
                name, body = json.loads(text[2:])
                seen.append((name, body["n"]))
            elif text.startswith("43"):
                _ack_id, rest = text[2:].split("[", 1)
                seen.append(("ack", json.loads("[" + rest)[0]["n"]))
        return seen


def caught_up(client: "RawClient", count: int) -> bool:
    return len(client.texts) >= count


async def until(check: Callable[[], bool], seconds: float = 20, step: float = 0.02) -> None:
    """Until ``check`` holds, polling; fails after ``seconds``."""
    for _ in range(int(seconds / step)):
        if check():
            return
        await asyncio.sleep(step)
    raise AssertionError(f"never true within {seconds} s")


def encoded(event: str, data: Any) -> str:
    text = socket_packet.Packet(socket_packet.EVENT, data=[event, data]).encode()
    assert isinstance(text, str)
    return "4" + text


async def test_raw_websocket_clients_get_every_packet_byte_for_byte_in_the_order_sent(
    server: Server,
) -> None:
    clients = [await RawClient.open(server.url) for _ in range(4)]
    ticks = 60
    # Every client asks for ticks at once: broadcasts, personal events and acks interleave,
    # some written at once, some queued behind acks.
    for index in range(ticks):
        sender = clients[index % len(clients)]
        await sender.connection.send(f'42{index}["tick"]')
    # Each client gets every broadcast, and its own events and acks.
    expected = ticks + 2 * ticks // len(clients)
    for client in clients:
        await client.read_until(lambda texts: len(texts) >= expected)
    for client in clients:
        assert client.seen() == server.sent[client.sid]
        broadcasts = [text for text in client.texts if text.startswith('42["b"')]
        assert broadcasts == [encoded("b", {"n": n}) for n in range(ticks)]
        assert len(client.texts) == len(server.sent[client.sid])
    assert server.queued_writes > 0  # some went through the queue, behind acks


async def test_large_and_non_ascii_broadcasts_arrive_intact(server: Server) -> None:
    client = await RawClient.open(server.url, max_size=None)
    payloads = [{"t": "é€😀" * size, "n": size} for size in (0, 30, 40, 20_000, 30_000)]
    for payload in payloads:
        await server.sio.emit("big", payload, to=ROOM)
    await client.read_until(lambda texts: len(texts) >= len(payloads))
    assert client.texts == [encoded("big", payload) for payload in payloads]


class RecordingClient:
    """A python-socketio client recording events and acks, in the order they came."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.seen: list[tuple[str, Any]] = []
        self.sio.on("*", self._record)

    async def _record(self, event: str, data: Any = None) -> None:
        self.seen.append((event, data))

    async def open(self, url: str, transports: list[str]) -> "RecordingClient":
        await self.sio.connect(url, transports=transports, wait_timeout=10)
        return self

    async def ticks(self, count: int) -> None:
        for _ in range(count):
            await self.sio.emit(
                "tick", callback=lambda answer: self.seen.append(("ack", answer["n"]))
            )

    def numbered(self) -> list[tuple[str, int]]:
        return [(name, data) if name == "ack" else (name, data["n"]) for name, data in self.seen]


@pytest.mark.parametrize(
    "transports", [["websocket"], ["polling"], ["polling", "websocket"]], ids=str
)
async def test_socketio_clients_get_the_events_and_acks_in_order(
    server: Server, transports: list[str]
) -> None:
    client = await RecordingClient().open(server.url, transports)
    others = [await RecordingClient().open(server.url, ["websocket"]) for _ in range(2)]
    try:
        await client.ticks(30)
        for other in others:
            await other.ticks(10)
        sid = client.sio.get_sid()
        await until(
            lambda: (
                len(client.seen) >= len(server.sent[sid])
                and all(len(o.seen) >= len(server.sent[o.sio.get_sid()]) for o in others)
            )
        )
        assert client.numbered() == server.sent[sid]
        for other in others:
            assert other.numbered() == server.sent[other.sio.get_sid()]
        await until(lambda: client.sio.transport() == transports[-1])  # an upgrade may lag
    finally:
        for each in (client, *others):
            await each.sio.eio.disconnect(abort=True)


async def test_binary_broadcasts_take_the_library_path_in_order(server: Server) -> None:
    client = await RecordingClient().open(server.url, ["websocket"])
    poller = await RecordingClient().open(server.url, ["polling"])
    try:
        for n in range(5):
            await server.sio.emit("b", {"n": n}, to=ROOM)
            await server.sio.emit("bin", {"n": n, "blob": bytes([n, 0, 255])}, to=ROOM)
        await until(lambda: len(client.seen) >= 10 and len(poller.seen) >= 10)
        expected = []
        for n in range(5):
            expected += [("b", {"n": n}), ("bin", {"n": n, "blob": bytes([n, 0, 255])})]
        assert client.seen == expected
        assert poller.seen == expected
    finally:
        for each in (client, poller):
            await each.sio.eio.disconnect(abort=True)


async def test_a_client_that_stops_reading_is_disconnected_before_memory_grows(
    server: Server,
) -> None:
    reader = await RawClient.open(server.url, max_size=None)
    # This client reads nothing more: past its small receive queue it stops reading the socket.
    stalled = await RawClient.open(server.url, max_size=None, max_queue=1)
    gone = asyncio.Event()
    stalled_eio_sid = server.sio.manager.eio_sid_from_sid(stalled.sid, "/")
    socket = server.sio.eio.sockets[stalled_eio_sid]
    link = delivery.link_of(socket)
    assert link is not None
    # What only the handshake needed is gone; both queues are lean ones.
    assert link.protocol.request is None and link.protocol.response is None
    assert isinstance(link.protocol.queue, delivery.LeanQueue)
    assert isinstance(socket.queue, delivery.LeanQueue)
    environ = server.sio.environ[stalled_eio_sid]
    assert "wsgi.input" not in environ and not any(key.startswith("HTTP_") for key in environ)
    assert environ["asgi.scope"]["headers"]  # the request's headers, kept once
    assert link.protocol.conn.parser.gi_code is Protocol.parse.__code__
    payload = {"t": "x" * 32_000, "n": 0}
    count = 1_000  # 32 MB, more than loopback's socket buffers hold
    most_queued = 0
    reading = asyncio.create_task(reader.read_until(lambda texts: len(texts) >= count, within=60))
    for n in range(count):
        await server.sio.emit("big", {**payload, "n": n}, to=ROOM)
        most_queued = max(most_queued, link.queued + link.transport.get_write_buffer_size())
        if socket.closed or link.transport.is_closing():
            gone.set()
        # The reading client keeps up (a few messages behind at most), as a reader does.
        await until(functools.partial(caught_up, reader, n - 4), step=0.001)
    await reading
    # The reading client got everything; the stalled one was cut off, its backlog bounded.
    assert [json.loads(text[2:])[1]["n"] for text in reader.texts] == list(range(count))
    await until(lambda: stalled_eio_sid not in server.sio.eio.sockets)
    assert gone.is_set()
    assert most_queued <= delivery.HARD_LIMIT
    assert link.queued <= delivery.HARD_LIMIT
    await stalled.connection.close()
    await reader.connection.close()
