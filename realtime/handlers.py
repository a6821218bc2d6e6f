"""Client events: each is checked (rate, payload, sign-in), runs in its own unit of work
through the same app services REST uses, and is answered by an ack."""

import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec
import socketio

from app.auth import revocation
from app.auth.service import auth_service
from app.auth.tokens import Principal
from app.chat import schemas as chat_schemas
from app.chat.service import chat_service
from app.kit.errors import AppError
from app.kit.failures import failure_summary, translate
from app.kit.logging import request_id_var
from app.kit.payload import check_payload
from app.kit.resources import Resources
from app.kit.rooms import channel_room
from app.kit.uow import read_session, unit_of_work
from app.live.public import PublicSnapshots
from app.live.service import live_service
from app.pool import schemas as pool_schemas
from app.pool.betting import pool_betting
from realtime.connections import Connection
from realtime.errors import (
    DifferentUser,
    OverlayOtherChannel,
    OverlayReadOnly,
    SignInToAct,
    TokenExpired,
    TooManyChannels,
)
from realtime.schemas import BetPlace, ChannelRef, TokenRefresh

log = logging.getLogger("streampools.realtime")

MAX_CHANNELS_PER_CONNECTION = 10
#: How long an acting event trusts the last check of its connection's sign-in (seconds); the
#: revocation notice drops the socket at once, this only bounds a missed notice.
SIGN_IN_RECHECK_SECONDS = 1.0

Ack = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Context:
    """What a handler gets besides its payload."""

    server: socketio.AsyncServer
    resources: Resources
    connection: Connection
    #: Re-arms the connection's token-refresh timer (after ``auth:refresh``).
    rearm: Callable[[Connection], None]
    #: Drops the connection (``auth:expired`` with the error, then a disconnect), soon.
    drop: Callable[[Connection, AppError], None]
    #: The snapshot anonymous clients share.
    snapshots: PublicSnapshots
    #: The process's sign-in checks, one Redis round trip for the events of one turn.
    revocations: revocation.SharedChecks

    @property
    def principal(self) -> Principal:
        """The signed-in caller; anonymous, expired or dropped connections are refused here."""
        if self.connection.ended is not None:
            raise self.connection.ended
        if self.connection.overlay is not None:
            raise OverlayReadOnly()
        if self.connection.principal is None:
            raise SignInToAct()
        if self.connection.token_expired():
            raise TokenExpired()
        return self.connection.principal

    async def acting(self) -> Principal:
        """The caller, for events that act (bet, chat, moderation): the sign-in must still
        hold. The web process drops a revoked sign-in's sockets when it hears of it; this
        check refuses them even if that notice was missed."""
        principal = self.principal
        now = time.monotonic()
        # Once a second at most per connection: a revocation is due within a second, and a Redis
        # round trip per bet would cost a busy stream a good part of its intake.
        if now - self.connection.sign_in_checked_at < SIGN_IN_RECHECK_SECONDS:
            return principal
        refused = await self.revocations.why_refused(principal)
        if refused is not None:
            self.drop(self.connection, refused)
            raise refused
        self.connection.sign_in_checked_at = now
        return principal


def ok(body: Any = None) -> Ack:
    return {"ok": True, **(msgspec.to_builtins(body) if body is not None else {})}


def failed(error: AppError) -> Ack:
    return {"ok": False, "error": error.to_dict()}


async def join(ctx: Context, data: ChannelRef) -> Ack:
    """Enter a channel's room and get its snapshot. The room is entered first, so no event
    falls between the snapshot and the stream of updates."""
    connection = ctx.connection
    if connection.overlay is not None:
        if connection.ended is not None:
            raise connection.ended
        if data.channel != connection.overlay.channel_id:
            raise OverlayOtherChannel()
    if data.channel not in connection.channels:
        if len(connection.channels) >= MAX_CHANNELS_PER_CONNECTION:
            raise TooManyChannels()
        await ctx.server.enter_room(connection.sid, channel_room(data.channel))
    try:
        if connection.principal is None:  # the same for every anonymous client: shared
            shared = await ctx.snapshots.snapshot(ctx.resources, data.channel)
        else:
            async with read_session(ctx.resources) as session:
                snapshot = await live_service.snapshot(
                    session, ctx.resources, data.channel, connection.principal
                )
    except BaseException:
        if data.channel not in connection.channels:
            await ctx.server.leave_room(connection.sid, channel_room(data.channel))
        raise
    connection.channels.add(data.channel)
    return {"ok": True, **shared} if connection.principal is None else ok(snapshot)


async def leave(ctx: Context, data: ChannelRef) -> Ack:
    await ctx.server.leave_room(ctx.connection.sid, channel_room(data.channel))
    ctx.connection.channels.discard(data.channel)
    return ok()


async def place_bet(ctx: Context, data: BetPlace) -> Ack:
    """The same bet as ``POST /pools/{id}/bets``; one connection's bets run in arrival order."""
    async with ctx.connection.money_lock:
        # Checked once the lock is ours: bets queued behind others see a revocation too.
        principal = await ctx.acting()
        placed = await pool_betting.bet(
            ctx.resources,
            principal.user_id,
            data.pool_id,
            pool_schemas.BetCreate(outcome_id=data.outcome_id, amount=data.amount),
            data.idempotency_key,
        )
    return ok({"bet": placed})


async def send_chat(ctx: Context, data: chat_schemas.ChatSend) -> Ack:
    principal = await ctx.acting()
    async with unit_of_work(ctx.resources) as session:
        message = await chat_service.send(session, ctx.resources, principal, data)
    return ok({"message": message})


async def delete_chat(ctx: Context, data: chat_schemas.ChatDelete) -> Ack:
    principal = await ctx.acting()
    async with unit_of_work(ctx.resources) as session:
        deleted = await chat_service.delete(session, ctx.resources, principal, data.message_id)
    return ok({"deleted": deleted})


async def timeout_chat(ctx: Context, data: chat_schemas.ChatTimeout) -> Ack:
    principal = await ctx.acting()
    async with unit_of_work(ctx.resources) as session:
        timed_out = await chat_service.timeout(session, ctx.resources, principal, data)
    return ok({"timeout": timed_out})


async def refresh_token(ctx: Context, data: TokenRefresh) -> Ack:
    """Swap the connection's access token for a fresher one of the same user."""
    connection = ctx.connection
    if connection.principal is None:
        raise SignInToAct()
    principal, expires_at = await auth_service.authenticate(ctx.resources, data.token)
    if principal.user_id != connection.principal.user_id:
        raise DifferentUser()
    connection.principal = principal
    connection.expires_at = expires_at
    ctx.rearm(connection)
    return ok({"expires_at": expires_at})


async def whoami(ctx: Context, data: None) -> Ack:
    principal = ctx.connection.principal
    overlay = ctx.connection.overlay
    if overlay is not None:
        return ok({"user_id": None, "overlay": {"channel_id": overlay.channel_id}})
    return ok({"user_id": principal.user_id if principal else None})


Handler = Callable[[Context, Any], Awaitable[Ack]]

#: Every client event: its handler and the type its payload must convert to.
EVENTS: dict[str, tuple[Handler, type[Any] | None]] = {
    "channel:join": (join, ChannelRef),
    "channel:leave": (leave, ChannelRef),
    "bet:place": (place_bet, BetPlace),
    "chat:send": (send_chat, chat_schemas.ChatSend),
    "chat:delete": (delete_chat, chat_schemas.ChatDelete),
    "chat:timeout": (timeout_chat, chat_schemas.ChatTimeout),
    "auth:refresh": (refresh_token, TokenRefresh),
    "whoami": (whoami, None),
}

#: The events an overlay (connected with an overlay key) may send: it only watches. Any other
#: event, including ones added later, is refused with ``overlay_read_only``.
OVERLAY_EVENTS = frozenset({"channel:join", "channel:leave", "whoami"})


async def dispatch(
    ctx: Context, event: str, handler: Handler, kind: type[Any] | None, payload: Any
) -> Ack:
    """Run one event: decode its payload, call its handler, render any error as an ack."""
    token = request_id_var.set(uuid.uuid4().hex)
    try:
        if ctx.connection.overlay is not None and event not in OVERLAY_EVENTS:
            raise OverlayReadOnly()
        data = None if kind is None else msgspec.convert(payload, kind)
        check_payload(data)
        return await handler(ctx, data)
    except msgspec.ValidationError as error:
        return {"ok": False, "error": {"code": "validation_error", "message": str(error)}}
    except AppError as error:
        return failed(error)
    except Exception as error:
        known = translate(error)
        if known is not None:
            log.warning(
                "socket event refused: %s",
                failure_summary(error),
                extra={"event": event, "code": known.code},
            )
            return failed(known)
        log.exception("socket event failed", extra={"event": event})
        return {
            "ok": False,
            "error": {"code": "internal_error", "message": "Something went wrong on our side."},
        }
    finally:
        request_id_var.reset(token)
