"""The layer in front of Socket.IO in a group of web processes, called directly: which requests
it keeps, which it passes on, and what it answers when it cannot (the whole path, over real
processes, is tests/realtime/test_processes.py)."""

from pathlib import Path
from typing import Any

from app.kit.supervisor import ProcessSlot
from realtime.affinity import SessionRouter

Message = dict[str, Any]


def test_a_session_id_names_the_process_that_issued_it(tmp_path: Path) -> None:
    slot = ProcessSlot(0, 2, tmp_path)
    assert slot.owner("1.AbCd-_") == 1
    assert slot.owner("0.AbCd") == 0
    assert slot.owner("2.AbCd") is None  # no such process (say, from a larger group)
    assert slot.owner("AbCd") is None  # a single process's id
    assert slot.owner("x.AbCd") is None
    assert slot.owner("-1.AbCd") is None


class Recorder:
    def __init__(self, incoming: list[Message]) -> None:
        self.incoming = incoming
        self.sent: list[Message] = []
        self.app_calls: list[Any] = []

    async def receive(self) -> Message:
        return self.incoming.pop(0)

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    async def app(self, scope: Any, receive: Any, send: Any) -> None:
        self.app_calls.append(scope)


async def call(tmp_path: Path, scope: Message, incoming: list[Message]) -> Recorder:
    recorder = Recorder(incoming)
    router = SessionRouter(ProcessSlot(0, 2, tmp_path), read_timeout=5)
    router.app = recorder.app
    async with router.running():
        await router(
            {"headers": [], "client": ("10.0.0.1", 5), "server": ("127.0.0.1", 8000), **scope},
            recorder.receive,
            recorder.send,
        )
    return recorder


async def test_its_own_sessions_and_other_paths_stay_here(tmp_path: Path) -> None:
    for path, query in [
        ("/socket.io/", b"EIO=4&transport=polling"),  # a new session
        ("/socket.io/", b"EIO=4&transport=polling&sid=0.abc"),
        ("/socket.io/", b"EIO=4&transport=polling&sid=7.abc"),  # no such process
        ("/api/v1/pools/1", b"sid=1.abc"),
        ("/metrics", b"process=0"),
        ("/metrics", b""),  # process 0's
        ("/readyz", b""),  # whichever process takes it
        ("/readyz", b"process=0"),
        ("/readyz", b"process=9"),
        ("/api/v1/pools/1", b"process=1"),
    ]:
        scope = {"type": "http", "method": "GET", "path": path, "query_string": query}
        recorder = await call(tmp_path, scope, [])
        assert len(recorder.app_calls) == 1, (path, query)


async def test_an_upgrade_of_another_process_session_is_refused(tmp_path: Path) -> None:
    scope = {
        "type": "websocket",
        "path": "/socket.io/",
        "query_string": b"EIO=4&transport=websocket&sid=1.abc",
    }
    recorder = await call(tmp_path, scope, [{"type": "websocket.connect"}])
    assert recorder.app_calls == []
    assert recorder.sent == [{"type": "websocket.close", "code": 1008}]


async def test_a_poll_for_a_process_that_is_down_is_an_invalid_session(tmp_path: Path) -> None:
    """Its session went with it: the client is told so and connects again."""
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/socket.io/",
        "query_string": b"EIO=4&transport=polling&sid=1.abc",
    }
    recorder = await call(tmp_path, scope, [{"type": "http.request", "body": b""}])
    assert recorder.app_calls == []
    assert recorder.sent[0]["status"] == 400
    assert recorder.sent[1]["body"] == b"Invalid session"


async def test_a_question_for_a_process_that_is_down_is_unavailable(tmp_path: Path) -> None:
    scope = {"type": "http", "method": "GET", "path": "/readyz", "query_string": b"process=1"}
    recorder = await call(tmp_path, scope, [{"type": "http.request", "body": b""}])
    assert recorder.app_calls == []
    assert recorder.sent[0]["status"] == 503
