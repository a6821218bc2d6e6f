"""One web process per core on one public port: an engine.io session lives in the process that
issued it, so a request of that session reaching another process is passed on to its owner.

Every web process of a group (``streampools web`` with more than one process) accepts on the
same public socket and also listens on a private Unix socket of its own. The engine.io session
ids it issues begin with its index (``"1.<random>"``). In front of Socket.IO:

- a long-polling request (GET or POST) whose ``sid`` belongs to another process is forwarded to
  that process's private socket, body streamed both ways, status and headers kept;
- a WebSocket upgrade for another process's session is refused before the handshake: the
  official clients then stay on long-polling for that session (a WebSocket-first client never
  has a session before its WebSocket, so it always lands right);
- ``/metrics?process=<i>`` is answered by process ``i`` (``/metrics`` alone by process 0), so a
  scrape always reads the same process's counters; ``/healthz`` and ``/readyz`` too with
  ``?process=<i>`` (without it, by whichever process takes the request).

Rooms need nothing of this: emits reach every process through the Redis manager."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs

import engineio
import httpx
import socketio
from prometheus_client import Counter

from app.kit.supervisor import ProcessSlot

log = logging.getLogger("streampools.web")

ASGIApp = Any
Scope = dict[str, Any]

#: Paths that ``?process=<i>`` sends to process ``i``.
PER_PROCESS = frozenset({"/metrics", "/healthz", "/readyz"})
#: The host name forwarded requests are addressed to (over a Unix socket: a name only).
FORWARD_BASE = "http://streampools-web-process"
#: What a forwarded request carries: the client's address as the receiving process saw it.
CLIENT_HEADER = b"x-streampools-client"
#: Hop-by-hop headers (RFC 9110 §7.6.1), which a proxy does not pass on.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        CLIENT_HEADER,
    }
)

FORWARDED = Counter(
    "streampools_socketio_forwarded_requests_total",
    "Long-polling requests passed on to the web process that owns their engine.io session,"
    " by outcome (forwarded, or unreachable: the owner was down).",
    ["outcome"],
)
UPGRADES_REFUSED = Counter(
    "streampools_socketio_upgrades_refused_total",
    "WebSocket upgrades refused because their session lives in another web process (the"
    " client stays on long-polling).",
)


class _QuietForwards(logging.Filter):
    """httpx logs each request at INFO: not the forwarded long polls, one per client every
    few seconds."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        return not any(str(arg).startswith(FORWARD_BASE) for arg in args)


class _SlotEngineIO(engineio.AsyncServer):  # type: ignore[misc]
    """engine.io's server, its session ids prefixed with the process's index."""

    sid_prefix = ""

    def generate_id(self) -> str:
        generated: str = super().generate_id()
        return self.sid_prefix + generated


class SlotServer(socketio.AsyncServer):  # type: ignore[misc]
    """python-socketio's server whose engine.io session ids name this process (``slot``)."""

    def __init__(self, slot: ProcessSlot | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if slot is not None:
            self.eio.sid_prefix = slot.sid_prefix

    def _engineio_server_class(self) -> type[engineio.AsyncServer]:
        return _SlotEngineIO


def _query(scope: Scope) -> dict[str, list[str]]:
    raw: bytes = scope.get("query_string", b"")
    return parse_qs(raw.decode("latin-1"))


class SessionRouter:
    """The ASGI layer in front of the web process's app (see the module's docstring); ``app``
    is set once the app is made."""

    app: ASGIApp

    def __init__(self, slot: ProcessSlot, *, read_timeout: float) -> None:
        self.slot = slot
        self.private_socket = str(slot.socket_path(slot.index))
        self._timeout = httpx.Timeout(connect=5, read=read_timeout, write=30, pool=30)
        self._clients: dict[int, httpx.AsyncClient] = {}
        httpx_log = logging.getLogger("httpx")
        if not any(isinstance(f, _QuietForwards) for f in httpx_log.filters):
            httpx_log.addFilter(_QuietForwards())

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """For the process's lifetime: the connections to the other processes are closed on
        the way out."""
        try:
            yield
        finally:
            clients, self._clients = list(self._clients.values()), {}
            await asyncio.gather(*(c.aclose() for c in clients), return_exceptions=True)

    def _client(self, index: int) -> httpx.AsyncClient:
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = httpx.AsyncClient(
                transport=httpx.AsyncHTTPTransport(uds=str(self.slot.socket_path(index))),
                base_url=FORWARD_BASE,
                timeout=self._timeout,
                # A long poll holds its connection for up to a ping interval: no cap.
                limits=httpx.Limits(max_connections=None, max_keepalive_connections=64),
            )
        return client

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "http" or kind == "websocket":
            if self._private(scope):
                self._restore_client(scope)
            else:
                target = self._target(scope)
                if target is not None:
                    if kind == "websocket":
                        await self._refuse_upgrade(receive, send)
                    else:
                        await self._forward(target, scope, receive, send)
                    return
        await self.app(scope, receive, send)

    def _private(self, scope: Scope) -> bool:
        server = scope.get("server")
        return server is not None and server[0] == self.private_socket

    @staticmethod
    def _restore_client(scope: Scope) -> None:
        """On the private socket (reachable by the group's processes alone): the client is
        the one the forwarding process saw."""
        for name, value in scope["headers"]:
            if name == CLIENT_HEADER:
                host, _, port = value.decode("latin-1").rpartition(":")
                if host and port.isdigit():
                    scope["client"] = (host, int(port))
                return

    def _target(self, scope: Scope) -> int | None:
        """The other process this request belongs to, if any."""
        path: str = scope["path"]
        if path.startswith("/socket.io/"):
            sids = _query(scope).get("sid")
            owner = self.slot.owner(sids[0]) if sids else None
        elif path in PER_PROCESS and scope["type"] == "http":
            default = ["0"] if path == "/metrics" else [""]
            asked = _query(scope).get("process", default)[0]
            owner = int(asked) if asked.isdigit() and int(asked) < self.slot.count else None
        else:
            return None
        return owner if owner is not None and owner != self.slot.index else None

    @staticmethod
    async def _refuse_upgrade(receive: Any, send: Any) -> None:
        """Closed before it is accepted: the server answers the upgrade with 403, which the
        clients take as a failed upgrade probe and keep polling."""
        UPGRADES_REFUSED.inc()
        message = await receive()
        if message["type"] == "websocket.connect":
            await send({"type": "websocket.close", "code": 1008})

    async def _forward(self, target: int, scope: Scope, receive: Any, send: Any) -> None:
        headers = [(k, v) for k, v in scope["headers"] if k not in HOP_BY_HOP]
        client = scope.get("client")
        if client:
            headers.append((CLIENT_HEADER, f"{client[0]}:{client[1]}".encode("latin-1")))
        url = scope.get("raw_path") or scope["path"].encode()
        if query := scope.get("query_string"):
            url += b"?" + query
        has_body = any(k in (b"content-length", b"transfer-encoding") for k, _ in scope["headers"])
        request = self._client(target).build_request(
            scope["method"],
            url.decode("latin-1"),
            headers=headers,
            content=_body(receive) if has_body else None,
        )
        try:
            response = await self._client(target).send(request, stream=True)
        except httpx.TransportError as error:
            FORWARDED.labels("unreachable").inc()
            log.info("web process %d unreachable: %s", target, type(error).__name__)
            if scope["path"].startswith("/socket.io/"):
                # The owner is gone (restarting): so is the session. The client reconnects.
                await _plain(send, 400, b"Invalid session")
            else:
                await _plain(send, 503, f"web process {target} is not running".encode())
            return
        FORWARDED.labels("forwarded").inc()
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status_code,
                    "headers": [
                        (k.lower(), v)
                        for k, v in response.headers.raw
                        if k.lower() not in HOP_BY_HOP
                    ],
                }
            )
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await response.aclose()


async def _body(receive: Any) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        yield message.get("body", b"")
        if not message.get("more_body", False):
            return


async def _plain(send: Any, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
