"""The one normalised event every stream platform's adapter produces: only ``PlatformEvent``
crosses from ``integrations/`` into ``app/``, so pool rules never read a vendor payload."""

from datetime import datetime
from typing import Any, Literal

import msgspec

PlatformName = Literal["twitch", "kick", "youtube"]

EventKind = Literal[
    "chat.message",
    "stream.online",
    "stream.offline",
    "prediction.begin",
    "prediction.progress",
    "prediction.lock",
    "prediction.end",
]

#: Roles read from the platform's badges; "broadcaster" is the channel's owner on the platform.
ActorRole = Literal["broadcaster", "moderator", "vip", "subscriber"]


class PlatformActor(msgspec.Struct, frozen=True, kw_only=True):
    """Who acted, keyed on the platform's stable user id (never on the name, which changes)."""

    user_id: str
    login: str
    display_name: str
    roles: frozenset[ActorRole] = frozenset()
    #: The platform's own badge ids ("moderator/1", "subscriber/12"), for display in chat.
    badges: tuple[str, ...] = ()


class PredictionOutcome(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    title: str
    users: int = 0
    points: int = 0


class PlatformPrediction(msgspec.Struct, frozen=True, kw_only=True):
    """A native platform prediction (Twitch's) as it stood in this event."""

    id: str
    title: str
    outcomes: tuple[PredictionOutcome, ...]
    #: "active" | "locked" | "resolved" | "canceled" (EventSub's lowercase statuses).
    status: str
    winning_outcome_id: str | None = None
    locks_at: datetime | None = None


class PlatformEvent(msgspec.Struct, frozen=True, kw_only=True):
    platform: PlatformName
    kind: EventKind
    #: The platform's delivery id (EventSub message id): the inbox's key, stable across resends.
    delivery_id: str
    occurred_at: datetime
    received_at: datetime
    #: The platform channel: its broadcaster's platform user id.
    channel_id: str
    #: The stream session (Twitch's stream id) when the platform names one.
    stream_id: str | None = None
    author: PlatformActor | None = None
    #: A chat message's own id (idempotency key of a chat bet) and its text.
    message_id: str | None = None
    text: str | None = None
    prediction: PlatformPrediction | None = None
    #: The vendor's payload as received, kept for the record; rules never read it.
    raw: dict[str, Any] = msgspec.field(default_factory=dict)
