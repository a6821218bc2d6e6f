"""Channels, their platform links, moderators, memberships and points grants as the API shows
them."""

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from app.kit.schema import Input, Output
from app.models.channel import LinkStatus, Platform

Slug = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[a-z0-9_-]{3,40}$",
        description="3 to 40 lowercase letters, digits, '-' or '_'.",
        examples=["speedrun-sam"],
    ),
]
ChannelName = Annotated[str, msgspec.Meta(min_length=1, max_length=80, pattern=r"\S")]
ExternalId = Annotated[str, msgspec.Meta(min_length=1, max_length=128, pattern=r"\S")]
UserId = Annotated[int, msgspec.Meta(gt=0)]
GrantAmount = Annotated[
    int, msgspec.Meta(gt=0, le=2**63 - 1, description="Whole points; capped per grant.")
]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=r"\S")]


class ChannelCreate(Input):
    slug: Slug
    name: ChannelName


class ChannelUpdate(Input):
    """Omitted (or null) fields stay as they are."""

    name: ChannelName | None = None
    #: Only a platform admin may change it (cash pools need approval).
    cash_enabled: bool | None = None
    #: Let Twitch's moderators of the linked channel (by their chat badge) open, lock,
    #: resolve and cancel pools with chat commands.
    twitch_moderators_run_pools: bool | None = None


class LinkCreate(Input):
    """Kick and YouTube channels only: a Twitch link is made through Twitch sign-in (OAuth)."""

    platform: Platform
    external_id: ExternalId


class Link(Output):
    id: int
    platform: Platform
    external_id: str
    #: Proven by the platform account's owner through OAuth.
    verified: bool
    #: unverified | verified | needs_relink (its owner must sign in with the platform again).
    status: LinkStatus


class Channel(Output):
    id: int
    slug: str
    name: str
    owner_id: int
    cash_enabled: bool
    #: Twitch's moderators (by their chat badge) may run pools with chat commands.
    twitch_moderators_run_pools: bool
    links: list[Link]
    created_at: datetime


StaffRole = Literal["owner", "moderator"]


class StaffChannel(Channel):
    """A channel the caller runs, and as what."""

    role: StaffRole


class StaffChannelList(Output):
    channels: list[StaffChannel]


class MemberMatch(Output):
    """A member of the channel, as its staff may look them up (to make them a moderator or to
    grant them points): the display name the channel's chat and leaderboard show anyway."""

    user_id: int
    display_name: str
    joined_at: datetime


class MemberMatchList(Output):
    members: list[MemberMatch]


class ModeratorAdd(Input):
    user_id: UserId


class Moderator(Output):
    user_id: int
    display_name: str
    added_by: int
    created_at: datetime


class ModeratorList(Output):
    moderators: list[Moderator]


class Membership(Output):
    channel_id: int
    user_id: int
    joined_at: datetime
    last_bonus_at: datetime | None
    #: When the next daily bonus can be claimed; null when it can be claimed now.
    next_bonus_at: datetime | None
    currency: str
    balance: int


class GrantCreate(Input):
    user_id: UserId
    amount: GrantAmount
    reason: Reason


class Grant(Output):
    transaction_id: int
    channel_id: int
    user_id: int
    amount: int
    currency: str
    reason: str


class GrantRecord(Output):
    """One staff grant as audited: who granted whom how much, why, and when."""

    id: int
    channel_id: int
    granted_by: int
    user_id: int
    amount: int
    currency: str
    reason: str
    transaction_id: int
    created_at: datetime


class GrantList(Output):
    grants: list[GrantRecord]
    #: Pass as ``before`` for the next (older) page; null when this is the last.
    next_before: int | None
