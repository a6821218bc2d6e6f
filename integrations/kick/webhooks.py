"""Kick's webhook deliveries: verify the RSA signature, read the delivery, normalise its event.

Kick signs ``"{message_id}.{timestamp}.{raw body}"`` with RSA PKCS#1 v1.5 over SHA-256 and
sends the signature base64-encoded; it documents no replay window, so the shared one
(``integrations.signed``) applies, and the message id (a ULID) is the inbox key."""

import base64
import binascii
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, Final

import msgspec
from cryptography.exceptions import InvalidSignature as BadRsaSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from integrations.events import ActorRole, PlatformActor, PlatformEvent
from integrations.kick.api import CHAT_MESSAGE_SENT, LIVESTREAM_STATUS_UPDATED, KickId
from integrations.signed import (
    InvalidSignature,
    MalformedMessage,
    check_fresh,
    lowered,
    parse_timestamp,
    required,
)

MESSAGE_ID: Final = "kick-event-message-id"
SUBSCRIPTION_ID: Final = "kick-event-subscription-id"
SIGNATURE: Final = "kick-event-signature"
MESSAGE_TIMESTAMP: Final = "kick-event-message-timestamp"
EVENT_TYPE: Final = "kick-event-type"
EVENT_VERSION: Final = "kick-event-version"

#: A signature of a 4096-bit key is 512 bytes; nothing longer is decoded.
MAX_SIGNATURE_LENGTH: Final = 1024


class KickDelivery(msgspec.Struct, frozen=True, kw_only=True):
    """One webhook delivery: its signed headers and its event as received."""

    message_id: str
    subscription_id: str | None
    event_type: str
    version: str
    timestamp: datetime
    event: dict[str, Any]


def load_public_key(pem: str) -> rsa.RSAPublicKey:
    """An RSA public key from its PEM (``\\n`` written out, as an environment variable may
    carry it, is read as a line break). ``ValueError`` when it is not one."""
    text = pem.strip().replace("\\n", "\n")
    key = serialization.load_pem_public_key(text.encode())
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("Kick's public key is an RSA key")
    return key


def verify(
    public_keys: Iterable[rsa.RSAPublicKey],
    headers: Mapping[str, str],
    body: bytes,
    now: datetime | None = None,
) -> None:
    """Check that ``body`` (the raw request body) was signed by one of ``public_keys`` and that
    its timestamp is within the window of ``now``. Raises ``InvalidSignature`` otherwise, with
    the reason "signature mismatch" when only the keys refused it (a rotated key: fetch it)."""
    signed_headers = lowered(headers)
    message_id = required(signed_headers, MESSAGE_ID)
    timestamp = required(signed_headers, MESSAGE_TIMESTAMP)
    encoded = required(signed_headers, SIGNATURE).strip()
    if len(encoded) > MAX_SIGNATURE_LENGTH:
        raise InvalidSignature("signature too long")
    try:
        signature = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidSignature("signature not base64") from exc
    signed = f"{message_id}.{timestamp}.".encode() + body
    if not any(_signed_by(key, signature, signed) for key in public_keys):
        raise InvalidSignature("signature mismatch")
    check_fresh(timestamp, now)


def _signed_by(key: rsa.RSAPublicKey, signature: bytes, signed: bytes) -> bool:
    try:
        key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
    except BadRsaSignature:
        return False
    return True


def parse(headers: Mapping[str, str], body: bytes) -> KickDelivery:
    """The delivery a verified request carries: its headers and raw body (an event object)."""
    received = lowered(headers)
    event_type = received.get(EVENT_TYPE, "").strip()
    if not event_type:
        raise MalformedMessage("missing event type")
    try:
        timestamp = parse_timestamp(received.get(MESSAGE_TIMESTAMP, ""))
    except ValueError as exc:
        raise MalformedMessage(str(exc)) from exc
    try:
        event = msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise MalformedMessage(f"not a Kick event: {exc}") from exc
    except RecursionError as exc:
        raise MalformedMessage("not a Kick event: nested too deep") from exc
    if not isinstance(event, dict):
        raise MalformedMessage("not a Kick event: not an object")
    return KickDelivery(
        message_id=required(received, MESSAGE_ID),
        subscription_id=received.get(SUBSCRIPTION_ID) or None,
        event_type=event_type,
        version=received.get(EVENT_VERSION, "1").strip() or "1",
        timestamp=timestamp,
        event=event,
    )


def to_platform_event(delivery: KickDelivery, received_at: datetime) -> PlatformEvent | None:
    """The normalised event of a delivery, or None when the platform does not act on it (other
    events, other versions)."""
    if delivery.version != "1":
        return None
    normalise = _NORMALISERS.get(delivery.event_type)
    return None if normalise is None else normalise(delivery, received_at)


# --- event payloads (Kick's webhook reference, version 1) ---------------------------------------


class _Badge(msgspec.Struct):
    type: str
    text: str = ""
    count: int | None = None


class _Identity(msgspec.Struct):
    badges: list[_Badge] | None = None


class _User(msgspec.Struct):
    user_id: KickId
    username: str
    channel_slug: str | None = None
    identity: _Identity | None = None


class _LivestreamStatus(msgspec.Struct):
    broadcaster: _User
    is_live: bool
    title: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None


class _ChatMessage(msgspec.Struct):
    message_id: str
    broadcaster: _User
    sender: _User
    content: str
    created_at: datetime | None = None


def _event_as(delivery: KickDelivery, type_: type[msgspec.Struct]) -> Any:
    try:
        return msgspec.convert(delivery.event, type_)
    except msgspec.ValidationError as exc:
        raise MalformedMessage(f"{delivery.event_type} {delivery.message_id}: {exc}") from exc


def _livestream_status(delivery: KickDelivery, received_at: datetime) -> PlatformEvent:
    status: _LivestreamStatus = _event_as(delivery, _LivestreamStatus)
    if status.is_live:
        # Kick names no stream session: its start time is the session (the same in a resend).
        return PlatformEvent(
            platform="kick",
            kind="stream.online",
            delivery_id=delivery.message_id,
            occurred_at=status.started_at or delivery.timestamp,
            received_at=received_at,
            channel_id=str(status.broadcaster.user_id),
            raw=delivery.event,
        )
    return PlatformEvent(
        platform="kick",
        kind="stream.offline",
        delivery_id=delivery.message_id,
        occurred_at=status.ended_at or delivery.timestamp,
        received_at=received_at,
        channel_id=str(status.broadcaster.user_id),
        raw=delivery.event,
    )


_BADGE_ROLES: Final[dict[str, ActorRole]] = {
    "broadcaster": "broadcaster",
    "moderator": "moderator",
    "vip": "vip",
    "subscriber": "subscriber",
    "founder": "subscriber",
}

#: Emotes arrive inline as ``[emote:<id>:<name>]``: chat shows their name.
_EMOTE = re.compile(r"\[emote:\d+:([^\]\[]*)\]")


def _chat_message(delivery: KickDelivery, received_at: datetime) -> PlatformEvent:
    chat: _ChatMessage = _event_as(delivery, _ChatMessage)
    badges = (chat.sender.identity.badges if chat.sender.identity else None) or []
    roles: set[ActorRole] = {_BADGE_ROLES[b.type] for b in badges if b.type in _BADGE_ROLES}
    sender_id, broadcaster_id = str(chat.sender.user_id), str(chat.broadcaster.user_id)
    if sender_id == broadcaster_id:
        roles.add("broadcaster")
    return PlatformEvent(
        platform="kick",
        kind="chat.message",
        delivery_id=delivery.message_id,
        occurred_at=chat.created_at or delivery.timestamp,
        received_at=received_at,
        channel_id=broadcaster_id,
        author=PlatformActor(
            user_id=sender_id,
            # Kick's usernames keep their capitals; the slug is the lowercase login.
            login=chat.sender.channel_slug or chat.sender.username.lower(),
            display_name=chat.sender.username,
            roles=frozenset(roles),
            badges=tuple(f"{badge.type}/{badge.count or 1}" for badge in badges),
        ),
        message_id=chat.message_id,
        text=_EMOTE.sub(r"\1", chat.content),
        raw=delivery.event,
    )


_NORMALISERS: Final[dict[str, Callable[[KickDelivery, datetime], PlatformEvent]]] = {
    LIVESTREAM_STATUS_UPDATED: _livestream_status,
    CHAT_MESSAGE_SENT: _chat_message,
}
