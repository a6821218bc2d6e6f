"""`streampools web` with two processes on one port, as `make run` starts it on a 2-core
machine: long-polling sessions work whichever process takes each request, rooms span both
processes, a killed process is started again, and SIGTERM stops the group cleanly."""

import asyncio
import os
import re
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import httpx
import pytest

from app.cli import web_command
from app.kit.embedded import free_port
from app.kit.migrate import PROJECT_ROOT
from app.settings import Settings
from tests.realtime.conftest import SocketClient
from tests.worlds import Person, World


@dataclass(frozen=True)
class Member:
    index: int
    pid: int
    socket: Path


@dataclass
class Group:
    url: str
    process: subprocess.Popen[bytes]

    def members(self) -> dict[int, Member]:
        """The supervisor's live web processes, by index (from their command lines)."""
        pid = self.process.pid
        found: dict[int, Member] = {}
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        for child in children:
            try:
                args = Path(f"/proc/{child}/cmdline").read_bytes().decode().split("\0")
            except FileNotFoundError:
                continue
            if "web-process" in args:
                index = int(args[args.index("--index") + 1])
                folder = Path(args[args.index("--socket-dir") + 1])
                found[index] = Member(index, int(child), folder / f"{index}.sock")
        return found

    async def ready(self, count: int, within: float = 120) -> dict[int, Member]:
        """Once each of the ``count`` processes answers /readyz on its own socket."""
        deadline = time.monotonic() + within
        while True:
            assert self.process.poll() is None, "the supervisor exited"
            members = self.members()
            if len(members) == count and all([await _ready(m) for m in members.values()]):
                return members
            assert time.monotonic() < deadline, "the web processes did not get ready"
            await asyncio.sleep(0.1)


async def _ready(member: Member) -> bool:
    transport = httpx.AsyncHTTPTransport(uds=str(member.socket))
    try:
        async with httpx.AsyncClient(transport=transport, timeout=2) as http:
            return (await http.get("http://streampools-web-process/readyz")).status_code == 200
    except httpx.TransportError:
        return False


def start_group(settings: Settings, processes: int) -> Group:
    """`streampools web` as production starts it, with ``processes`` processes."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "STREAMPOOLS_LOG_LEVEL": "WARNING",
    }
    command = web_command("127.0.0.1", port, processes=processes)
    return Group(f"http://127.0.0.1:{port}", subprocess.Popen(command, env=env, cwd=PROJECT_ROOT))


def running(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


@pytest.fixture
async def group(settings: Settings) -> AsyncIterator[Group]:
    started = start_group(settings, 2)
    process = started.process
    try:
        await started.ready(2)
        yield started
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
async def sockets() -> AsyncIterator[AsyncExitStack]:
    """Closes every client (and its HTTP session) the test opens."""
    async with AsyncExitStack() as stack:
        yield stack


async def on_process(stack: AsyncExitStack, member: Member, person: Person) -> SocketClient:
    """A WebSocket client served by ``member`` (through its own socket)."""
    session = aiohttp.ClientSession(connector=aiohttp.UnixConnector(path=str(member.socket)))
    stack.push_async_callback(session.close)
    client = SocketClient(http_session=session)
    stack.push_async_callback(client.close)
    return await client.connect("http://streampools-web-process", person.token)


async def polling(stack: AsyncExitStack, url: str, person: Person) -> SocketClient:
    """A long-polling client whose every request opens a connection of its own: each may be
    taken by either process."""
    return await _polling_first(stack, url, person, ("polling",))


async def _polling_first(
    stack: AsyncExitStack, url: str, person: Person, transports: tuple[str, ...]
) -> SocketClient:
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True))
    client = SocketClient(http_session=session)

    async def close() -> None:
        # The session first: the client's pending long poll ends at once rather than at the
        # server's next ping (python-engineio's client waits for it on disconnect)...
        await session.close()
        await client.close()
        # ... and the one the client opened meanwhile to say goodbye.
        if (spare := client.sio.eio.http) is not None and not spare.closed:
            await spare.close()

    stack.push_async_callback(close)
    return await client.connect(url, person.token, transports=transports)


def process_of(client: SocketClient) -> int:
    """The index of the process that owns the client's engine.io session."""
    sid: str = client.sio.eio.sid
    return int(sid.split(".", 1)[0])


async def forwarded(url: str, processes: int) -> float:
    """Requests the group's processes passed on to the owner of their session, in total."""
    total = 0.0
    async with httpx.AsyncClient(base_url=url, timeout=15) as http:
        for index in range(processes):
            text = (await http.get("/metrics", params={"process": index})).text
            found = re.search(
                r'^streampools_socketio_forwarded_requests_total\{outcome="forwarded"\} (\S+)$',
                text,
                re.MULTILINE,
            )
            total += float(found.group(1)) if found else 0.0
    return total


async def test_sessions_rooms_restarts_and_shutdown_of_two_processes(
    world: World, group: Group, sockets: AsyncExitStack
) -> None:
    members = group.members()
    watchers = [await on_process(sockets, members[i], world.viewers[i]) for i in (0, 1)]
    assert [process_of(w) for w in watchers] == [0, 1]
    poller = await polling(sockets, group.url, world.viewers[2])
    assert poller.sio.transport() == "polling"
    owner = process_of(poller)
    elsewhere = watchers[1 - owner]
    for client in [*watchers, poller]:
        assert (await client.call("channel:join", {"channel": world.channel_id}))["ok"] is True

    # Broadcasts emitted by the other process reach the poller, and its own events are
    # answered (acks), over many requests, each on a connection of its own.
    for n in range(4):
        said = await elsewhere.call("chat:send", {"channel": world.channel_id, "text": f"m{n}"})
        assert said["ok"] is True, said
        heard = await poller.wait_for("chat:message", said["message"].__eq__)
        assert heard == said["message"]
    said = await poller.call("chat:send", {"channel": world.channel_id, "text": "from polling"})
    assert said["ok"] is True, said
    for watcher in watchers:
        assert await watcher.wait_for("chat:message", lambda m: m["text"] == "from polling")
    assert await forwarded(group.url, 2) > 0, "no request reached the other process"

    # A client that starts on polling and then upgrades works wherever its upgrade lands
    # (refused on the other process, it stays on polling).
    for person in world.viewers[:2]:
        client = await _polling_first(sockets, group.url, person, ("polling", "websocket"))
        joined = await client.call("channel:join", {"channel": world.channel_id})
        assert joined["ok"] is True
    await sockets.aclose()

    # A web process killed outright is started again in its place; new connections work.
    before = group.members()
    os.kill(before[1].pid, signal.SIGKILL)
    after = await group.ready(2)
    assert after[1].pid != before[1].pid
    assert after[0].pid == before[0].pid

    fresh = await on_process(sockets, after[1], world.viewers[0])
    assert process_of(fresh) == 1
    assert (await fresh.call("channel:join", {"channel": world.channel_id}))["ok"] is True
    poller = await polling(sockets, group.url, world.viewers[1])
    assert (await poller.call("channel:join", {"channel": world.channel_id}))["ok"] is True
    said = await fresh.call("chat:send", {"channel": world.channel_id, "text": "back"})
    assert said["ok"] is True, said
    assert await poller.wait_for("chat:message", lambda m: m["text"] == "back")
    await sockets.aclose()

    # SIGTERM stops every process of the group, and the supervisor cleans up after them.
    group.process.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(group.process.wait, 15) == 0
    for member in after.values():
        assert not running(member.pid), f"web process {member.index} still runs"
    assert not after[0].socket.parent.exists()
