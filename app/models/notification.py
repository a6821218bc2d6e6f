"""Notifications: the inbox (one row per notification per user), push preferences, the
devices that receive pushes (FCM registration tokens) and each push's delivery record."""

import enum
from datetime import datetime, time
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Identity,
    Index,
    Integer,
    SmallInteger,
    String,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, CreatedAtMixin


class NotificationKind(enum.StrEnum):
    """What a notification is about; the stable strings the API and the socket event carry."""

    pool_opened = "pool.opened"
    pool_locking = "pool.locking"
    pool_won = "pool.won"
    pool_lost = "pool.lost"
    pool_refunded = "pool.refunded"
    deposit_credited = "deposit.credited"
    withdrawal_approved = "withdrawal.approved"
    withdrawal_rejected = "withdrawal.rejected"
    platform_needs_relink = "platform.needs_relink"
    deposit_held = "deposit.held"
    automation_mirror_held = "automation.mirror_held"
    youtube_quota_paused = "youtube.quota_paused"


class PushState(enum.StrEnum):
    pending = "pending"  # to be pushed to the user's devices
    held = "held"  # waiting for the end of the user's quiet hours
    done = "done"  # every device was tried (or there was none)
    off = "off"  # the user turned pushes of this kind off


class DevicePlatform(enum.StrEnum):
    web = "web"
    android = "android"
    ios = "ios"


class DeliveryStatus(enum.StrEnum):
    sending = "sending"  # claimed, handed to FCM; a worker that died here never resends it
    sent = "sent"
    retry = "retry"  # FCM refused it for now (quota, 5xx): sent again with backoff
    failed = "failed"  # refused for good, or out of attempts
    unknown = "unknown"  # no answer (timeout): may have arrived, never resent


class Notification(Base):
    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    #: The event that caused it (``pool.result:42``): one row per event and user.
    event_key: Mapped[str] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(String(500))
    #: Where the notification leads: a page of the site or an API resource (relative URL).
    link: Mapped[str | None] = mapped_column(String(300), default=None)
    channel_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    pool_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    push_state: Mapped[str] = mapped_column(String(8), server_default=PushState.pending.value)
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    read_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (
        # Fan-outs are idempotent, and the push job pages through an event's rows by user.
        UniqueConstraint("event_key", "user_id"),
        Index("ix_notifications_user_id_id", "user_id", text("id DESC")),
        Index("ix_notifications_unread", "user_id", postgresql_where=text("read_at IS NULL")),
        Index(
            "ix_notifications_push_waiting",
            "created_at",
            postgresql_where=text("push_state IN ('pending', 'held')"),
        ),
    )


class NotificationEvent(CreatedAtMixin, Base):
    """A fan-out done (``pool.opened:42``, ``pool.locking:42``): each happens once."""

    __tablename__ = "notification_events"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    recipients: Mapped[int] = mapped_column(Integer, server_default=text("0"))


class NotificationPreferences(Base):
    """A user's push preferences (the inbox always gets every notification)."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    #: Kinds whose pushes the user turned off.
    push_off: Mapped[list[str]] = mapped_column(
        ARRAY(String(40)), server_default=text("'{}'::varchar[]")
    )
    #: Pushes are held from start to end (local time in ``time_zone``; may wrap midnight).
    quiet_start: Mapped[time | None] = mapped_column(Time, default=None)
    quiet_end: Mapped[time | None] = mapped_column(Time, default=None)
    time_zone: Mapped[str] = mapped_column(String(64), server_default="UTC")
    updated_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class Device(CreatedAtMixin, Base):
    """An FCM registration token of one of the user's apps (web, Android, iOS)."""

    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token: Mapped[str] = mapped_column(String(1024), unique=True)
    platform: Mapped[str] = mapped_column(String(8))
    last_seen_at: Mapped[datetime] = mapped_column(server_default=text("now()"))

    __table_args__ = (CheckConstraint("platform IN ('web', 'android', 'ios')", name="platform"),)


class NotificationDelivery(Base):
    """One push of one notification to one device, claimed before it is sent: the record that
    keeps a job that runs twice from pushing twice."""

    __tablename__ = "notification_deliveries"

    notification_id: Mapped[int] = mapped_column(
        ForeignKey("notifications.id", ondelete="CASCADE"), primary_key=True
    )
    device_id: Mapped[int] = mapped_column(
        ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    status: Mapped[str] = mapped_column(String(8))
    attempts: Mapped[int] = mapped_column(SmallInteger, server_default=text("1"))
    message_id: Mapped[str | None] = mapped_column(String(200), default=None)
    error: Mapped[str | None] = mapped_column(String(300), default=None)
    updated_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
