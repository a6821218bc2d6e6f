"""Notifications, devices and preferences as the API shows and takes them."""

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from app.kit.schema import Input, Output

Kind = Literal[
    "pool.opened",
    "pool.locking",
    "pool.won",
    "pool.lost",
    "pool.refunded",
    "deposit.credited",
    "withdrawal.approved",
    "withdrawal.rejected",
    "platform.needs_relink",
    "deposit.held",
    "automation.mirror_held",
]

Platform = Literal["web", "android", "ios"]

ClockTime = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
        description="A local time, HH:MM (24-hour clock).",
        examples=["22:00"],
    ),
]

TimeZone = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_+\-/]+$",
        description="An IANA time zone name.",
        examples=["Europe/Paris"],
    ),
]

Token = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=1024,
        pattern=r"^[A-Za-z0-9_:\-.]+$",
        description="The FCM registration token the app got from Firebase.",
    ),
]


class Notification(Output):
    """One notification in the inbox; the ``notification`` socket event carries the same."""

    id: int
    kind: str
    title: str
    body: str
    #: Where it leads: the pool's or channel's page, or the payments resource.
    link: str | None
    channel_id: int | None
    pool_id: int | None
    #: Facts of its kind (a pool result: currency, stake, paid; a deposit: its id, amount).
    data: dict[str, Any]
    created_at: datetime
    read_at: datetime | None


class NotificationPage(Output):
    notifications: list[Notification]
    #: Unread notifications in the whole inbox.
    unread: int
    next_cursor: str | None


class ReadAll(Output):
    marked: int
    unread: int


class QuietHours(Input):
    start: ClockTime
    end: ClockTime


class QuietHoursView(Output):
    start: str
    end: str


class PreferencesUpdate(Input):
    """What to change; fields left out stay as they are."""

    #: Push on (true) or off (false) per kind; kinds left out keep their setting.
    push: dict[Kind, bool] | msgspec.UnsetType = msgspec.UNSET
    #: Pushes are held from start to end, local time (null: no quiet hours).
    quiet_hours: QuietHours | msgspec.UnsetType | None = msgspec.UNSET
    time_zone: TimeZone | msgspec.UnsetType = msgspec.UNSET


class Preferences(Output):
    #: Push on or off for each kind (the inbox always gets every notification).
    push: dict[str, bool]
    quiet_hours: QuietHoursView | None
    time_zone: str


class DeviceRegister(Input):
    token: Token
    platform: Platform


class Device(Output):
    id: int
    platform: str
    #: The token's last characters, to tell devices apart (never the whole token).
    token_suffix: str
    created_at: datetime
    last_seen_at: datetime


class DeviceList(Output):
    devices: list[Device]
