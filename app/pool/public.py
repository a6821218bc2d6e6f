"""The public view of a pool, what every anonymous viewer polls: kept per process as encoded
bytes with an ETag, and served by a thin ASGI layer in front of the framework.

A copy lives until a pool event says the pool changed (a transition: dropped; new coalesced
totals, at most a few a second: stale, still served while one background render replaces it),
or at most ``FRESH_SECONDS``. Without a copy the request goes on to the API's own handler,
which renders it (one render per pool at a time) and keeps it. Requests with credentials, a
query string, an ``Origin`` (CORS), ``Cache-Control`` or another method always go on to the API
(which renders the view anew for ``Cache-Control: no-cache``)."""

import asyncio
import hashlib
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar.enums import ScopeType
from litestar.types import (
    ASGIApp,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Receive,
    Scope,
    Send,
)
from prometheus_client import Counter

from app.kit.copies import Copies, Copy
from app.kit.resources import Resources
from app.kit.uow import read_session
from app.pool.views import pool_views

log = logging.getLogger("streampools.pool.public")

#: The reads the copies answer never reach the framework's request metrics: counted here.
SERVED = Counter(
    "streampools_public_pool_reads",
    "Anonymous pool reads answered from the web process's copies, by status (200 or 304).",
    ["status"],
)
SERVED_200, SERVED_304 = SERVED.labels("200"), SERVED.labels("304")

#: A copy no event has changed is rendered again after this long anyway (events are the rule;
#: this bounds what a lost one could cost).
FRESH_SECONDS = 2.0
#: How long past that a copy may still be served while a new one is rendered.
STALE_SECONDS = 1.0
#: Pools kept per process (the least recently read ones go first).
MAX_POOLS = 10_000
PATH = re.compile(r"/api/v1/pools/([1-9][0-9]{0,17})")
#: Requests the copies never answer: with credentials, cross-origin (CORS), or asking for a
#: response checked at the source (`Cache-Control: no-cache`).
PASS_THROUGH = (b"authorization", b"cookie", b"origin", b"cache-control")
REQUEST_ID = re.compile(rb"[\x21-\x7e]{1,64}")


@dataclass(frozen=True)
class PublicView:
    body: bytes
    etag: bytes


class PublicPools:
    """One process's copies of pools' public views, kept in step with the pool events every web
    process hears: a transition drops the copy (the next read renders it), new totals make it
    stale (served while one render replaces it)."""

    def __init__(self, resources: Callable[[], Resources]) -> None:
        self._resources = resources
        self._copies: Copies[PublicView] = Copies(MAX_POOLS)
        self._refreshes: set[asyncio.Task[Copy[PublicView]]] = set()

    def heard(self, event: str, data: Any) -> None:
        """A pool event, from this process or another: what it changed is no longer served
        as fresh."""
        if event.startswith("pool:") and isinstance(data, dict):
            pool_id = data.get("id")
            if isinstance(pool_id, int):
                self._copies.changed(pool_id, drop=event != "pool:updated")

    def peek(self, pool_id: int) -> tuple[PublicView | None, bool]:
        """The copy to serve now, if any, and whether it is fresh."""
        copy = self._copies.get(pool_id)
        if copy is None or copy.age > FRESH_SECONDS + STALE_SECONDS:
            return None, False
        return copy.value, self._copies.current(pool_id, copy) and copy.age <= FRESH_SECONDS

    async def view(self, pool_id: int, *, revalidate: bool = False) -> PublicView:
        """A fresh copy, rendered now if needed (one render per pool at a time), or with
        ``revalidate`` rendered now whatever the copy."""
        view, fresh = self.peek(pool_id)
        if view is not None and fresh and not revalidate:
            return view
        return (await self._render(pool_id)).value

    def refresh_soon(self, pool_id: int) -> None:
        if self._copies.rendering(pool_id):
            return
        task = asyncio.ensure_future(self._render(pool_id))
        self._refreshes.add(task)
        task.add_done_callback(self._refreshed)

    def _refreshed(self, task: "asyncio.Task[Copy[PublicView]]") -> None:
        self._refreshes.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.warning("could not refresh a pool's public view: %s", error)

    def _render(self, pool_id: int) -> Awaitable[Copy[PublicView]]:
        async def make() -> PublicView:
            resources = self._resources()
            async with read_session(resources) as session:
                pool = await pool_views.read(session, resources.redis, pool_id, None)
            body = msgspec.json.encode(pool)
            etag = b'"' + hashlib.blake2b(body, digest_size=12).hexdigest().encode() + b'"'
            return PublicView(body, etag)

        return self._copies.render(pool_id, make)


def not_modified(view: PublicView, if_none_match: bytes | None) -> bool:
    if if_none_match is None:
        return False
    return if_none_match.strip() == b"*" or view.etag in (
        tag.strip().removeprefix(b"W/") for tag in if_none_match.split(b",")
    )


def public_pool_reads(app: ASGIApp, pools: PublicPools) -> ASGIApp:
    """Serve anonymous ``GET /api/v1/pools/{id}`` from ``pools`` when it holds a copy."""

    async def serve(scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != ScopeType.HTTP
            or scope.get("method") != "GET"
            or scope.get("query_string")
        ):
            await app(scope, receive, send)
            return
        match = PATH.fullmatch(scope["path"])
        if match is None:
            await app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if any(name in headers for name in PASS_THROUGH):
            await app(scope, receive, send)
            return
        pool_id = int(match.group(1))
        view, fresh = pools.peek(pool_id)
        if view is None:
            await app(scope, receive, send)
            return
        if not fresh:
            pools.refresh_soon(pool_id)
        await respond(view, headers.get(b"if-none-match"), headers.get(b"x-request-id"), send)

    return serve


async def respond(
    view: PublicView, if_none_match: bytes | None, request_id: bytes | None, send: Send
) -> None:
    unchanged = not_modified(view, if_none_match)
    identifier = uuid.uuid4().hex.encode()
    if request_id and REQUEST_ID.fullmatch(request_id):
        identifier = request_id
    headers: list[tuple[bytes, bytes]] = [
        (b"etag", view.etag),
        (b"cache-control", b"no-cache"),
        (b"x-request-id", identifier),
    ]
    if not unchanged:
        headers += [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(view.body)).encode()),
        ]
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": 304 if unchanged else 200,
        "headers": headers,
    }
    body: HTTPResponseBodyEvent = {
        "type": "http.response.body",
        "body": b"" if unchanged else view.body,
        "more_body": False,
    }
    await send(start)
    await send(body)
    (SERVED_304 if unchanged else SERVED_200).inc()
