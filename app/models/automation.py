"""Automations: a channel's rules that act on its platform events, each firing recorded once,
and the channel's current stream session."""

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Enum, ForeignKey, String, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, CreatedAtMixin, IdMixin
from app.models.channel import Platform, platform_enum


class AutomationKind(enum.StrEnum):
    stream_online = "stream_online"  # open a pool from a template (after an optional delay)
    stream_offline = "stream_offline"  # lock (or cancel) the channel's open pools
    mirror_predictions = "mirror_predictions"  # Twitch predictions mirrored as points pools


class FiringStatus(enum.StrEnum):
    scheduled = "scheduled"  # a delayed open, waiting for its job
    done = "done"  # acted (or consumed: nothing left to do for this occurrence)
    skipped = "skipped"  # the stream session ended before a delayed open
    held = "held"  # a mirrored result left to staff: someone of the staff holds a position
    failed = "failed"  # refused by the pool rules (e.g. the template's pool was invalid)


class AutomationRule(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "automation_rules"

    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"), index=True)
    kind: Mapped[AutomationKind] = mapped_column(
        Enum(AutomationKind, name="automation_kind", values_callable=lambda e: [m.value for m in e])
    )
    template_id: Mapped[int | None] = mapped_column(ForeignKey("pool_templates.id"), default=None)
    delay_seconds: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    #: What stream_offline does to open pools: "lock" or "cancel".
    offline_action: Mapped[str | None] = mapped_column(String(8), default=None)
    enabled: Mapped[bool] = mapped_column(default=True, server_default=text("true"))
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    __table_args__ = (
        CheckConstraint("delay_seconds BETWEEN 0 AND 3600", name="delay_in_range"),
        CheckConstraint(
            "(kind = 'stream_online') = (template_id IS NOT NULL)", name="template_iff_online"
        ),
        CheckConstraint(
            "(kind = 'stream_offline') = (offline_action IN ('lock', 'cancel'))"
            " AND (kind = 'stream_offline' OR offline_action IS NULL)",
            name="offline_action_iff_offline",
        ),
        CheckConstraint("kind = 'stream_online' OR delay_seconds = 0", name="delay_only_online"),
    )


class AutomationFiring(IdMixin, CreatedAtMixin, Base):
    """One rule fired for one occurrence (a stream session's id, a platform prediction's id):
    the unique pair makes redelivered and concurrent events act once."""

    __tablename__ = "automation_firings"

    rule_id: Mapped[int] = mapped_column(ForeignKey("automation_rules.id", ondelete="CASCADE"))
    occurrence: Mapped[str] = mapped_column(String(160))
    status: Mapped[FiringStatus] = mapped_column(
        Enum(FiringStatus, name="firing_status", values_callable=lambda e: [m.value for m in e])
    )
    pool_id: Mapped[int | None] = mapped_column(ForeignKey("pools.id"), default=None)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    __table_args__ = (UniqueConstraint("rule_id", "occurrence"),)


class ChannelStream(Base):
    """A channel's current stream session, across its platforms: it begins when the first of
    them goes live and ends when the last one goes offline (a multistream is one session).
    ``stream_id`` names the session (the id of the platform stream that began it); ``event_at``
    is the time of the last event applied."""

    __tablename__ = "channel_streams"

    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"), primary_key=True)
    online: Mapped[bool]
    stream_id: Mapped[str | None] = mapped_column(String(128))
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    event_at: Mapped[datetime]


class PlatformStream(Base):
    """One platform's side of a channel's stream, as that platform's events told it. Its
    ``event_at`` is the time of the platform's last event applied: an older event of that
    platform that arrives late changes nothing."""

    __tablename__ = "channel_platform_streams"

    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"), primary_key=True)
    platform: Mapped[Platform] = mapped_column(platform_enum, primary_key=True)
    online: Mapped[bool]
    stream_id: Mapped[str | None] = mapped_column(String(128))
    event_at: Mapped[datetime]
