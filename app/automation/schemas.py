"""Automation rules as the API shows them, and the notices automation sends."""

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from app.kit.schema import Input, Output

Kind = Literal["stream_online", "stream_offline", "mirror_predictions"]
OfflineAction = Literal["lock", "cancel"]
Delay = Annotated[
    int, msgspec.Meta(ge=0, le=3600, description="Seconds after the stream starts (0 to 3600).")
]
TemplateId = Annotated[int, msgspec.Meta(gt=0, le=2**63 - 1)]


class AutomationCreate(Input):
    """One kind per rule. ``stream_online`` opens a pool from ``template_id`` (a template of
    this channel) after ``delay_seconds``; ``stream_offline`` locks (or cancels) the channel's
    open pools; ``mirror_predictions`` mirrors Twitch predictions as points pools."""

    kind: Kind
    template_id: TemplateId | None = None
    delay_seconds: Delay = 0
    #: stream_offline only; default "lock".
    offline_action: OfflineAction | None = None
    enabled: bool = True


class AutomationUpdate(Input):
    """Omitted (or null) fields stay as they are; the kind never changes."""

    template_id: TemplateId | None = None
    delay_seconds: Delay | None = None
    offline_action: OfflineAction | None = None
    enabled: bool | None = None


class Automation(Output):
    id: int
    channel_id: int
    kind: Kind
    template_id: int | None
    delay_seconds: int
    offline_action: OfflineAction | None
    enabled: bool
    created_by: int
    created_at: datetime


class AutomationList(Output):
    automations: list[Automation]
