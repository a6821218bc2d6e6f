"""Ending access before the access tokens expire: markers in Redis that every token check reads
(REST requests and socket events), and notices on a Redis channel that every web process hears,
so open sockets of an ended sign-in are dropped at once rather than when their token expires.
Revoked overlay keys travel the same way: their sockets are dropped by the same notices."""

import uuid

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


async def why_refused(redis: Redis, principal: Principal) -> AuthError | None:
    """Why a principal's (otherwise valid) token no longer holds, or None while it does: one
    Redis round trip, cheap enough for every event that acts."""
    keys = [_role_key(principal.user_id)]
    if principal.family_id is not None:
        keys.append(_family_key(principal.family_id))
    role, *ended = await redis.mget(keys)
    if ended and ended[0] is not None:
        reason = ended[0]
        return SessionRevoked(reason.decode() if isinstance(reason, bytes) else str(reason))
    if isinstance(role, bytes):
        role = role.decode()
    if role is not None and role != principal.role.value:
        return RoleChanged()
    return None
