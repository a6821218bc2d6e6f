"""Overlay keys as the API shows them (the key itself only once, when it is made)."""

from datetime import datetime
from typing import Annotated

import msgspec

from app.kit.schema import Input, Output

Label = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=60,
        pattern=r"\S",
        description="What the key is for, 1 to 60 characters.",
        examples=["Main scene overlay"],
    ),
]


class OverlayKeyCreate(Input):
    label: Label


class OverlayKey(Output):
    """A key as its channel's staff see it later: never the key itself."""

    id: int
    channel_id: int
    label: str
    #: The key's first characters after ``ovk_``, to tell keys apart.
    key_prefix: str
    created_at: datetime
    created_by: int
    revoked_at: datetime | None
    last_used_at: datetime | None


class OverlayKeyCreated(Output):
    """A new key. ``key`` and ``url`` are shown here only: store them in the overlay."""

    id: int
    channel_id: int
    label: str
    key: str
    key_prefix: str
    #: The overlay page for an OBS browser source, with the key in it.
    url: str
    created_at: datetime


class OverlayKeyList(Output):
    overlay_keys: list[OverlayKey]


class OverlayAccess(msgspec.Struct, frozen=True):
    """What a valid overlay key lets a socket do: watch ``channel_id``, read only."""

    key_id: int
    channel_id: int
