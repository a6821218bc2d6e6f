"""Twitch EventSub deliveries: verify the signature, parse the message, normalise its event."""

import hashlib
import hmac
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Final, Literal, TypeVar

import msgspec

from integrations.events import (
    ActorRole,
    EventKind,
    PlatformActor,
    PlatformEvent,
    PlatformPrediction,
    PredictionOutcome,
)
from integrations.signed import MAX_MESSAGE_AGE as MAX_MESSAGE_AGE
from integrations.signed import InvalidSignature as InvalidSignature
from integrations.signed import MalformedMessage as MalformedMessage
from integrations.signed import check_fresh, lowered, required
from integrations.signed import parse_timestamp as parse_timestamp

MESSAGE_ID: Final = "twitch-eventsub-message-id"
MESSAGE_RETRY: Final = "twitch-eventsub-message-retry"
MESSAGE_TYPE: Final = "twitch-eventsub-message-type"
MESSAGE_SIGNATURE: Final = "twitch-eventsub-message-signature"
MESSAGE_TIMESTAMP: Final = "twitch-eventsub-message-timestamp"
SUBSCRIPTION_TYPE: Final = "twitch-eventsub-subscription-type"
SUBSCRIPTION_VERSION: Final = "twitch-eventsub-subscription-version"

SIGNATURE_PREFIX: Final = "sha256="

MessageType = Literal["notification", "webhook_callback_verification", "revocation"]

STREAM_ONLINE: Final = "stream.online"
STREAM_OFFLINE: Final = "stream.offline"
CHANNEL_CHAT_MESSAGE: Final = "channel.chat.message"
PREDICTION_BEGIN: Final = "channel.prediction.begin"
PREDICTION_PROGRESS: Final = "channel.prediction.progress"
PREDICTION_LOCK: Final = "channel.prediction.lock"
PREDICTION_END: Final = "channel.prediction.end"
#: The subscription types ``to_platform_event`` understands, each at version "1".
HANDLED_SUBSCRIPTION_TYPES: Final = frozenset(
    {
        STREAM_ONLINE,
        STREAM_OFFLINE,
        CHANNEL_CHAT_MESSAGE,
        PREDICTION_BEGIN,
        PREDICTION_PROGRESS,
        PREDICTION_LOCK,
        PREDICTION_END,
    }
)


class Subscription(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    type: str
    version: str
    status: str
    condition: dict[str, Any]
    transport: dict[str, Any]
    created_at: datetime
    cost: int = 0


class EventSubMessage(msgspec.Struct, frozen=True, kw_only=True):
    """One EventSub message, from a webhook delivery or a WebSocket frame alike.

    ``message_id`` is Twitch's delivery id: a resend keeps it, so it is the inbox key."""

    message_type: MessageType
    message_id: str
    timestamp: datetime
    subscription: Subscription
    #: How many times Twitch has resent this message (webhooks only; 0 over WebSocket).
    retry: int = 0
    #: The notification's event, as received.
    event: dict[str, Any] | None = None
    #: What a ``webhook_callback_verification`` wants echoed back, as ``text/plain``.
    challenge: str | None = None


def verify(
    secret: bytes | str,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime | None = None,
) -> None:
    """Check that ``body`` (the raw request body) was signed by Twitch with the subscription's
    ``secret`` and that its timestamp is within ten minutes of ``now``, either side.

    Raises ``InvalidSignature`` otherwise. Header names are matched case-insensitively."""
    key = secret.encode() if isinstance(secret, str) else secret
    if not key:
        raise ValueError("an empty EventSub secret means the endpoint is disabled")
    signed_headers = lowered(headers)
    message_id = required(signed_headers, MESSAGE_ID)
    timestamp = required(signed_headers, MESSAGE_TIMESTAMP)
    signature = required(signed_headers, MESSAGE_SIGNATURE)
    signed = message_id.encode() + timestamp.encode() + body
    expected = (SIGNATURE_PREFIX + hmac.new(key, signed, hashlib.sha256).hexdigest()).encode()
    # Bytes on both sides: compare_digest refuses str holding non-ASCII characters.
    if not hmac.compare_digest(expected, signature.strip().lower().encode()):
        raise InvalidSignature("signature mismatch")
    check_fresh(timestamp, now)


def parse(headers: Mapping[str, str], body: bytes) -> EventSubMessage:
    """The message a verified webhook delivery carries: its headers and raw body."""
    received = lowered(headers)
    message_type: MessageType
    match received.get(MESSAGE_TYPE):
        case "notification" | "webhook_callback_verification" | "revocation" as known:
            message_type = known
        case other:
            raise MalformedMessage(f"unknown message type {other!r}")
    message_id = received.get(MESSAGE_ID)
    if not message_id:
        raise MalformedMessage("missing message id")
    try:
        timestamp = parse_timestamp(received.get(MESSAGE_TIMESTAMP, ""))
    except ValueError as exc:
        raise MalformedMessage(str(exc)) from exc
    retry_header = received.get(MESSAGE_RETRY, "0").strip()
    if not (retry_header.isascii() and retry_header.isdigit()):
        raise MalformedMessage(f"malformed retry count {retry_header!r}")
    payload = decode(body, _WebhookBody)
    message = EventSubMessage(
        message_type=message_type,
        message_id=message_id,
        timestamp=timestamp,
        retry=int(retry_header),
        subscription=payload.subscription,
        event=payload.event,
        challenge=payload.challenge,
    )
    check_complete(message)
    return message


def check_complete(message: EventSubMessage) -> None:
    """A notification carries an event, a verification a challenge."""
    if message.message_type == "notification" and message.event is None:
        raise MalformedMessage("a notification without an event")
    if message.message_type == "webhook_callback_verification" and message.challenge is None:
        raise MalformedMessage("a verification without a challenge")


_Decoded = TypeVar("_Decoded")


def decode(body: bytes, type_: type[_Decoded]) -> _Decoded:
    """``body`` as ``type_``, or ``MalformedMessage``: never a crash on hostile input."""
    try:
        return msgspec.json.decode(body, type=type_)
    except msgspec.DecodeError as exc:  # ValidationError included
        raise MalformedMessage(f"not an EventSub message: {exc}") from exc
    except RecursionError as exc:
        # msgspec stops a deeply nested document with RecursionError; no real message is deep.
        raise MalformedMessage("not an EventSub message: nested too deep") from exc


def to_platform_event(message: EventSubMessage, received_at: datetime) -> PlatformEvent | None:
    """The normalised event of a notification, or None when it is not one the platform acts on
    (other subscription types, verifications, revocations, a stream that is not live)."""
    if message.message_type != "notification" or message.event is None:
        return None
    normalise = _NORMALISERS.get(message.subscription.type)
    if normalise is None:
        return None
    return normalise(message, message.event, received_at)


# --- event payloads (Twitch's EventSub reference, version 1) ------------------------------------


class _WebhookBody(msgspec.Struct):
    subscription: Subscription
    event: dict[str, Any] | None = None
    challenge: str | None = None


class _StreamOnline(msgspec.Struct):
    id: str
    broadcaster_user_id: str
    broadcaster_user_login: str
    broadcaster_user_name: str
    type: str
    started_at: datetime


class _StreamOffline(msgspec.Struct):
    broadcaster_user_id: str
    broadcaster_user_login: str
    broadcaster_user_name: str


class _Badge(msgspec.Struct):
    set_id: str
    id: str
    info: str = ""


class _ChatText(msgspec.Struct):
    text: str


class _ChatMessage(msgspec.Struct):
    broadcaster_user_id: str
    chatter_user_id: str
    chatter_user_login: str
    chatter_user_name: str
    message_id: str
    message: _ChatText
    badges: list[_Badge] = msgspec.field(default_factory=list)


class _Outcome(msgspec.Struct):
    id: str
    title: str
    # Absent on channel.prediction.begin (nobody has predicted yet); null is read as 0 too.
    users: int | None = None
    channel_points: int | None = None


class _Prediction(msgspec.Struct):
    id: str
    broadcaster_user_id: str
    title: str
    outcomes: list[_Outcome]
    started_at: datetime
    locks_at: datetime | None = None
    locked_at: datetime | None = None
    ended_at: datetime | None = None
    winning_outcome_id: str | None = None
    status: str | None = None


_Payload = TypeVar("_Payload", bound=msgspec.Struct)


def _event_as(message: EventSubMessage, event: dict[str, Any], type_: type[_Payload]) -> _Payload:
    try:
        return msgspec.convert(event, type_)
    except msgspec.ValidationError as exc:
        raise MalformedMessage(f"{message.subscription.type} {message.message_id}: {exc}") from exc


def _stream_online(
    message: EventSubMessage, event: dict[str, Any], received_at: datetime
) -> PlatformEvent | None:
    online = _event_as(message, event, _StreamOnline)
    # Only "live" is the streamer going live. A rerun, premiere, playlist or watch party is
    # recorded video: opening pools on it would take bets on an outcome already decided.
    if online.type != "live":
        return None
    return PlatformEvent(
        platform="twitch",
        kind="stream.online",
        delivery_id=message.message_id,
        occurred_at=online.started_at,
        received_at=received_at,
        channel_id=online.broadcaster_user_id,
        stream_id=online.id,
        raw=event,
    )


def _stream_offline(
    message: EventSubMessage, event: dict[str, Any], received_at: datetime
) -> PlatformEvent:
    offline = _event_as(message, event, _StreamOffline)
    return PlatformEvent(
        platform="twitch",
        kind="stream.offline",
        delivery_id=message.message_id,
        # The event carries no time of its own: the message's is when Twitch saw the end.
        occurred_at=message.timestamp,
        received_at=received_at,
        channel_id=offline.broadcaster_user_id,
        raw=event,
    )


_BADGE_ROLES: Final[dict[str, ActorRole]] = {
    "broadcaster": "broadcaster",
    "moderator": "moderator",
    "vip": "vip",
    "subscriber": "subscriber",
    # Founders are the channel's first subscribers and wear this badge instead of "subscriber".
    "founder": "subscriber",
}


def _chat_message(
    message: EventSubMessage, event: dict[str, Any], received_at: datetime
) -> PlatformEvent:
    chat = _event_as(message, event, _ChatMessage)
    # ``badges`` are the chatter's badges in this (the receiving) channel, also for a message
    # from a shared chat session, so roles are this channel's; ``source_badges`` are not read.
    roles: set[ActorRole] = {
        _BADGE_ROLES[badge.set_id] for badge in chat.badges if badge.set_id in _BADGE_ROLES
    }
    if chat.chatter_user_id == chat.broadcaster_user_id:
        roles.add("broadcaster")
    return PlatformEvent(
        platform="twitch",
        kind="chat.message",
        delivery_id=message.message_id,
        occurred_at=message.timestamp,
        received_at=received_at,
        channel_id=chat.broadcaster_user_id,
        author=PlatformActor(
            user_id=chat.chatter_user_id,
            login=chat.chatter_user_login,
            display_name=chat.chatter_user_name,
            roles=frozenset(roles),
            badges=tuple(f"{badge.set_id}/{badge.id}" for badge in chat.badges),
        ),
        message_id=chat.message_id,
        text=chat.message.text,
        raw=event,
    )


_PREDICTION_KINDS: Final[dict[str, EventKind]] = {
    PREDICTION_BEGIN: "prediction.begin",
    PREDICTION_PROGRESS: "prediction.progress",
    PREDICTION_LOCK: "prediction.lock",
    PREDICTION_END: "prediction.end",
}


def _prediction(
    message: EventSubMessage, event: dict[str, Any], received_at: datetime
) -> PlatformEvent:
    prediction = _event_as(message, event, _Prediction)
    subscription_type = message.subscription.type
    occurred_at = message.timestamp
    if subscription_type == PREDICTION_BEGIN:
        status, occurred_at = "active", prediction.started_at
    elif subscription_type == PREDICTION_PROGRESS:
        status = "active"
    elif subscription_type == PREDICTION_LOCK:
        status, occurred_at = "locked", prediction.locked_at or message.timestamp
    else:
        if prediction.status not in ("resolved", "canceled"):
            raise MalformedMessage(f"prediction ended with status {prediction.status!r}")
        if prediction.status == "resolved" and prediction.winning_outcome_id is None:
            raise MalformedMessage("a resolved prediction without a winning outcome")
        status, occurred_at = prediction.status, prediction.ended_at or message.timestamp
    return PlatformEvent(
        platform="twitch",
        kind=_PREDICTION_KINDS[subscription_type],
        delivery_id=message.message_id,
        occurred_at=occurred_at,
        received_at=received_at,
        channel_id=prediction.broadcaster_user_id,
        prediction=PlatformPrediction(
            id=prediction.id,
            title=prediction.title,
            outcomes=tuple(
                PredictionOutcome(
                    id=outcome.id,
                    title=outcome.title,
                    users=outcome.users or 0,
                    points=outcome.channel_points or 0,
                )
                for outcome in prediction.outcomes
            ),
            status=status,
            winning_outcome_id=prediction.winning_outcome_id if status == "resolved" else None,
            locks_at=prediction.locks_at,
        ),
        raw=event,
    )


_Normaliser = Callable[[EventSubMessage, dict[str, Any], datetime], PlatformEvent | None]

_NORMALISERS: Final[dict[str, _Normaliser]] = {
    STREAM_ONLINE: _stream_online,
    STREAM_OFFLINE: _stream_offline,
    CHANNEL_CHAT_MESSAGE: _chat_message,
    PREDICTION_BEGIN: _prediction,
    PREDICTION_PROGRESS: _prediction,
    PREDICTION_LOCK: _prediction,
    PREDICTION_END: _prediction,
}
