"""Ending access before the access tokens expire: markers in Redis that every token check reads
(REST requests and socket events), and notices on a Redis channel that every web process hears,
so open sockets of an ended sign-in are dropped at once rather than when their token expires.
Revoked overlay keys travel the same way: their sockets are dropped by the same notices."""

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import msgspec
from redis.asyncio import Redis

from app.auth.errors import AuthError, RoleChanged, SessionRevoked
from app.auth.tokens import Principal
from app.models.user import Role

#: The Redis pub/sub channel of revocation notices (not Socket.IO's: the web processes act on
#: these themselves; clients never see them).
CHANNEL = "auth:revocations"


class SessionEnded(msgspec.Struct, frozen=True, tag="session_ended"):
    """Every access token of one sign-in stopped working (signed out, or revoked on refresh
    token reuse)."""

    user_id: int
    family_id: str
    reason: str


class RoleSet(msgspec.Struct, frozen=True, tag="role_set"):
    """The user's platform role is now ``role``: tokens claiming another one stopped working."""

    user_id: int
    role: str


class OverlayKeyEnded(msgspec.Struct, frozen=True, tag="overlay_key_ended"):
    """An overlay key was revoked: the overlays watching with it must stop."""

    key_id: int
    channel_id: int


Notice = SessionEnded | RoleSet | OverlayKeyEnded

_encode = msgspec.json.Encoder().encode
decode_notice = msgspec.json.Decoder(Notice).decode


def _family_key(family_id: uuid.UUID | str) -> str:
    return f"auth:revoked_family:{family_id}"


def _role_key(user_id: int) -> str:
    return f"auth:role:{user_id}"


def _overlay_key_key(key_id: int) -> str:
    return f"auth:revoked_overlay_key:{key_id}"


async def mark_session_ended(
    redis: Redis, family_id: uuid.UUID | str, reason: str, ttl_seconds: int
) -> None:
    """Refuse the sign-in's access tokens from now on; the marker outlives the last of them."""
    await redis.set(_family_key(family_id), reason, ex=ttl_seconds)


async def mark_role(redis: Redis, user_id: int, role: Role, ttl_seconds: int) -> None:
    """Refuse the user's access tokens that claim another role than ``role``."""
    await redis.set(_role_key(user_id), role.value, ex=ttl_seconds)


async def mark_overlay_key_revoked(redis: Redis, key_id: int, ttl_seconds: int) -> None:
    """Flag a revoked overlay key for sockets that connected with it while it was being revoked
    (PostgreSQL refuses the key from the commit on; the flag only covers that instant)."""
    await redis.set(_overlay_key_key(key_id), "revoked", ex=ttl_seconds)


async def overlay_key_revoked(redis: Redis, key_id: int) -> bool:
    return bool(await redis.exists(_overlay_key_key(key_id)))


async def announce(redis: Redis, notice: Notice) -> None:
    await redis.publish(CHANNEL, _encode(notice))


def _keys(principal: Principal) -> list[str]:
    keys = [_role_key(principal.user_id)]
    if principal.family_id is not None:
        keys.append(_family_key(principal.family_id))
    return keys


def _refusal(principal: Principal, values: list[Any]) -> AuthError | None:
    role, *ended = values
    if ended and ended[0] is not None:
        reason = ended[0]
        return SessionRevoked(reason.decode() if isinstance(reason, bytes) else str(reason))
    if isinstance(role, bytes):
        role = role.decode()
    if role is not None and role != principal.role.value:
        return RoleChanged()
    return None


async def why_refused(redis: Redis, principal: Principal) -> AuthError | None:
    """Why a principal's (otherwise valid) token no longer holds, or None while it does: one
    Redis round trip, cheap enough for every event that acts."""
    return _refusal(principal, await redis.mget(_keys(principal)))


class SharedChecks:
    """:func:`why_refused` for callers that come together (a web process's socket events): the
    checks asked for in one turn of the event loop share one round trip (a pipeline), instead
    of a round trip each."""

    __slots__ = ("_pending", "_redis", "_tasks")

    def __init__(self, redis: Callable[[], Redis]) -> None:
        self._redis = redis
        self._pending: list[tuple[Principal, asyncio.Future[AuthError | None]]] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def why_refused(self, principal: Principal) -> AuthError | None:
        answer: asyncio.Future[AuthError | None] = asyncio.get_running_loop().create_future()
        self._pending.append((principal, answer))
        if len(self._pending) == 1:  # the first of this turn: the others join it
            task = asyncio.create_task(self._check())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await answer

    async def _check(self) -> None:
        pending, self._pending = self._pending, []
        try:
            async with self._redis().pipeline(transaction=False) as pipe:
                for principal, _ in pending:
                    pipe.mget(_keys(principal))
                results = await pipe.execute()
        except Exception as error:
            for _, answer in pending:
                if not answer.done():
                    answer.set_exception(error)
            return
        except BaseException:
            for _, answer in pending:
                answer.cancel()
            raise
        for (principal, answer), values in zip(pending, results, strict=True):
            if not answer.done():
                answer.set_result(_refusal(principal, values))
