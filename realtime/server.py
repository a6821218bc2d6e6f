"""The Socket.IO server: connect-time authentication (anonymous clients and overlays connected
with an overlay key may only watch), per-connection limits, token refresh, revocations heard
from every process, and the client events of realtime.handlers."""

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import socketio

from app.auth import revocation
from app.auth.errors import InvalidAccessToken, RoleChanged, SessionRevoked
from app.auth.service import auth_service
from app.kit.errors import AppError, InvalidInput
from app.kit.failures import failure_summary, translate
from app.kit.payload import MAX_DEPTH, too_deep
from app.kit.redisconn import connection_options
from app.kit.resources import Resources
from app.kit.rooms import user_room
from app.kit.supervisor import ProcessSlot
from app.kit.uow import read_session, unit_of_work
from app.live.public import PublicSnapshots
from app.overlay.errors import InvalidOverlayKey, OverlayKeyRevoked
from app.overlay.service import overlay_service
from app.settings import Settings
from realtime import delivery
from realtime.affinity import SlotServer
from realtime.connections import Connection, Connections, TokenBucket
from realtime.delivery import FanoutRedisManager
from realtime.errors import TokenExpired, TooManyEvents, UnknownEvent
from realtime.handlers import EVENTS, Ack, Context, Handler, dispatch, failed

log = logging.getLogger("streampools.realtime")

#: The event a packet nested too deep to parse turns into: its sender gets an error ack.
TOO_DEEP_EVENT = "payload:too_deep"


class PacketJson:
    """The JSON codec of Socket.IO packets: the standard library's, except that a packet nested
    deeper than any payload of ours is not parsed (the parser recurses once per level; thousands
    of levels exhaust the stack) but read as an event of its own that is answered with an
    error ack, like every other malformed payload."""

    @staticmethod
    def dumps(obj: Any, **kwargs: Any) -> str:
        return json.dumps(obj, **kwargs)

    @staticmethod
    def loads(text: str | bytes, **kwargs: Any) -> Any:
        if too_deep(text):
            return [TOO_DEEP_EVENT]
        return json.loads(text, **kwargs)


class SocketApp:
    """One process's Socket.IO server. Emits from any process (web or worker) reach its clients
    through the Redis manager."""

    def __init__(
        self,
        settings: Settings,
        resources: Callable[[], Resources],
        slot: ProcessSlot | None = None,
    ) -> None:
        self.settings = settings
        self._resources = resources
        self.connections = Connections()
        #: Set while this process is subscribed to revocation notices.
        self._hearing = asyncio.Event()
        self._dropping: set[asyncio.Task[None]] = set()
        self.server = SlotServer(
            slot,
            async_mode="asgi",
            client_manager=FanoutRedisManager(
                settings.redis_url, channel="socketio", redis_options=connection_options()
            ),
            cors_allowed_origins=settings.cors_origins,
            max_http_buffer_size=settings.socket_max_message_bytes,
            logger=False,
            engineio_logger=False,
            json=PacketJson,
        )
        delivery.install(self.server)
        self.snapshots = PublicSnapshots()
        self.revocations = revocation.SharedChecks(lambda: self._resources().redis)
        self.server.manager.listen(self.snapshots.heard)
        self.server.on("connect", self.connect)
        self.server.on("disconnect", self.disconnect)
        for event, (handler, kind) in EVENTS.items():
            self.server.on(event, self._bind(event, handler, kind))
        self.server.on(TOO_DEEP_EVENT, self.too_deep)
        self.server.on("*", self.unknown)

    async def connect(self, sid: str, environ: dict[str, Any], auth: Any) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        overlay_key = auth.get("overlay_key") if isinstance(auth, dict) else None
        if overlay_key is not None:
            await self._connect_overlay(sid, overlay_key, token)
            return
        principal, expires_at = None, None
        if token:
            try:
                if not isinstance(token, str):
                    raise InvalidAccessToken()
                principal, expires_at = await auth_service.authenticate(self._resources(), token)
            except InvalidAccessToken as error:
                # The client's connect_error gets {message, data: {code}}.
                raise socketio.exceptions.ConnectionRefusedError(
                    error.detail, {"code": error.code}
                ) from error
        connection = Connection(
            sid=sid,
            principal=principal,
            expires_at=expires_at,
            bucket=TokenBucket(
                self.settings.socket_events_per_second, self.settings.socket_event_burst
            ),
        )
        self.connections.add(connection)
        if principal is not None:
            await self.server.enter_room(sid, user_room(principal.user_id))
            self.rearm(connection)
            # A revocation announced between the token check and ``add`` found no connection
            # to drop; its marker was set before the announcement, so this catches it.
            refused = await revocation.why_refused(self._resources().redis, principal)
            if refused is not None:
                self.drop(connection, refused)

    async def _connect_overlay(self, sid: str, key: Any, token: Any) -> None:
        """An overlay: it watches the channel of its (valid, unrevoked) key and nothing else."""
        resources = self._resources()
        try:
            if token:
                raise InvalidOverlayKey("An overlay connects with its overlay key alone, no token.")
            if not isinstance(key, str):
                raise InvalidOverlayKey()
            async with unit_of_work(resources) as session:
                access = await overlay_service.authenticate(session, key)
        except AppError as error:
            raise _refusal(error) from error
        except Exception as error:
            known = translate(error)
            if known is None:
                log.exception("overlay connect failed")
                raise socketio.exceptions.ConnectionRefusedError(
                    "Something went wrong on our side.", {"code": "internal_error"}
                ) from error
            log.warning("overlay connect refused: %s", failure_summary(error))
            raise _refusal(known) from error
        connection = Connection(
            sid=sid,
            principal=None,
            expires_at=None,
            bucket=TokenBucket(
                self.settings.socket_events_per_second, self.settings.socket_event_burst
            ),
            overlay=access,
        )
        self.connections.add(connection)
        # A revocation committed after the key was read announced itself before ``add``: its
        # flag, set before the announcement, catches it.
        if await revocation.overlay_key_revoked(resources.redis, access.key_id):
            self.drop(connection, OverlayKeyRevoked())

    async def disconnect(self, sid: str, reason: Any = None) -> None:
        self.connections.remove(sid)

    def _bind(self, event: str, handler: Handler, kind: type[Any] | None) -> Any:
        async def on_event(sid: str, payload: Any = None, *_: Any) -> Ack:
            connection = self.connections.get(sid)
            if connection is None:  # disconnected meanwhile
                return failed(UnknownEvent())
            refused = await self._over_rate(connection)
            if refused is not None:
                return refused
            context = Context(
                self.server,
                self._resources(),
                connection,
                self.rearm,
                self.drop,
                self.snapshots,
                self.revocations,
            )
            return await dispatch(context, event, handler, kind, payload)

        return on_event

    async def unknown(self, event: str, sid: str, *_: Any) -> Ack:
        connection = self.connections.get(sid)
        if connection is not None:
            refused = await self._over_rate(connection)
            if refused is not None:
                return refused
        return failed(UnknownEvent())

    async def too_deep(self, sid: str, *_: Any) -> Ack:
        connection = self.connections.get(sid)
        if connection is not None:
            refused = await self._over_rate(connection)
            if refused is not None:
                return refused
        return failed(InvalidInput("payload", f"JSON may not nest deeper than {MAX_DEPTH} levels"))

    async def _over_rate(self, connection: Connection) -> Ack | None:
        """Every event draws from the connection's bucket; a client that keeps hammering
        after being refused is disconnected."""
        if connection.bucket.take():
            connection.refused_in_a_row = 0
            return None
        connection.refused_in_a_row += 1
        if connection.refused_in_a_row >= self.settings.socket_abuse_threshold:
            log.warning("disconnecting an abusive client", extra={"sid": connection.sid})
            await self.server.disconnect(connection.sid)
        return failed(TooManyEvents())

    # -- access token refresh -------------------------------------------------------------

    def rearm(self, connection: Connection) -> None:
        """(Re)start the timer that asks the client for a fresh token before its token
        expires, and disconnects it if none came."""
        if connection.refresh_timer is not None:
            connection.refresh_timer.cancel()
        connection.refresh_timer = asyncio.create_task(self._refresh_timer(connection))

    async def _refresh_timer(self, connection: Connection) -> None:
        expires_at = connection.expires_at
        if expires_at is None:
            return
        lead = self.settings.socket_refresh_lead_seconds
        await asyncio.sleep(max(0.0, expires_at - lead - time.time()))
        await self.server.emit("auth:refresh", {"expires_at": expires_at}, to=connection.sid)
        grace = self.settings.socket_refresh_grace_seconds
        await asyncio.sleep(max(0.0, expires_at + grace - time.time()))
        if connection.expires_at == expires_at:  # no fresh token came
            self.drop(
                connection,
                TokenExpired("Your access token expired; connect again with a new one."),
            )

    # -- revocations ----------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def hearing_revocations(self) -> AsyncIterator[None]:
        """For the web process's lifetime (inside the lifespan that opens the resources):
        listen to revocation notices, so a sign-out or role change made on any process drops
        the matching sockets held here."""
        listener = asyncio.create_task(self._listen())
        try:
            await asyncio.wait_for(self._hearing.wait(), 10)
        except TimeoutError:
            log.warning("not subscribed to revocations yet; retrying in the background")
        try:
            yield
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener

    async def _listen(self) -> None:
        while True:
            try:
                async with self._resources().redis.pubsub() as pubsub:
                    await pubsub.subscribe(revocation.CHANNEL)
                    async for message in pubsub.listen():
                        if message["type"] == "subscribe":
                            self._hearing.set()
                            # Notices sent while we were not listening are lost: the markers
                            # they went with are not.
                            await self._recheck_all()
                        elif message["type"] == "message":
                            await self._heard(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("revocation notices interrupted; resubscribing", exc_info=True)
            self._hearing.clear()
            await asyncio.sleep(1)

    async def _heard(self, raw: str | bytes) -> None:
        try:
            notice = revocation.decode_notice(raw)
        except ValueError:
            log.warning("ignoring a malformed revocation notice")
            return
        if isinstance(notice, revocation.OverlayKeyEnded):
            for connection in self.connections.of_overlay_key(notice.key_id):
                self.drop(connection, OverlayKeyRevoked())
            return
        for connection in self.connections.of_user(notice.user_id):
            principal = connection.principal
            if principal is None:
                continue
            if isinstance(notice, revocation.SessionEnded):
                if principal.family_id == notice.family_id:
                    self.drop(connection, SessionRevoked(notice.reason))
            elif principal.role.value != notice.role:
                self.drop(connection, RoleChanged())

    async def _recheck_all(self) -> None:
        resources = self._resources()
        for connection in self.connections.signed_in():
            assert connection.principal is not None
            refused = await revocation.why_refused(resources.redis, connection.principal)
            if refused is not None:
                self.drop(connection, refused)
        overlays = self.connections.overlays()
        if not overlays:
            return
        key_ids = {c.overlay.key_id for c in overlays if c.overlay is not None}
        try:
            async with read_session(resources) as session:
                valid = await overlay_service.still_valid(session, key_ids)
        except Exception:
            # Notices are heard again meanwhile; only a revocation missed while unsubscribed
            # waits for the next resubscription.
            log.warning("could not recheck the overlay keys of open sockets", exc_info=True)
            return
        for connection in overlays:
            if connection.overlay is not None and connection.overlay.key_id not in valid:
                self.drop(connection, OverlayKeyRevoked())

    def drop(self, connection: Connection, error: AppError) -> None:
        """Tell the client why (``auth:expired`` with the error) and disconnect it. Events
        already in flight on the connection are refused with the same error meanwhile."""
        if connection.ended is not None:
            return
        connection.ended = error
        task = asyncio.create_task(self._drop(connection.sid, error))
        self._dropping.add(task)
        task.add_done_callback(self._dropping.discard)

    async def _drop(self, sid: str, error: AppError) -> None:
        await self.server.emit("auth:expired", error.to_dict(), to=sid)
        await self.server.disconnect(sid)


def _refusal(error: AppError) -> socketio.exceptions.ConnectionRefusedError:
    """A refused connect: the client's connect_error gets {message, data: {code}}."""
    return socketio.exceptions.ConnectionRefusedError(error.detail, {"code": error.code})
