"""Channels: a streamer's community, its platform links, moderators, members and audit."""

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, CreatedAtMixin, IdMixin


class Platform(enum.StrEnum):
    twitch = "twitch"
    kick = "kick"
    youtube = "youtube"


platform_enum = Enum(Platform, name="platform", values_callable=lambda e: [m.value for m in e])


class LinkStatus(enum.StrEnum):
    unverified = "unverified"  # declared by the channel's owner, not proven (Kick, YouTube)
    verified = "verified"  # made through OAuth by the platform account's owner
    needs_relink = "needs_relink"  # verified, but its tokens were revoked or keep failing


class Channel(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "channels"

    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    cash_enabled: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    #: Whether Twitch's moderators of the linked channel (by their badge) may open, lock,
    #: resolve and cancel pools from chat; the channel's own moderators always may.
    twitch_moderators_run_pools: Mapped[bool] = mapped_column(
        default=False, server_default=text("false")
    )


class ChannelLink(IdMixin, CreatedAtMixin, Base):
    """A platform channel (Twitch, Kick, YouTube) that belongs to one of our channels. A
    verified link names the platform account (its broadcaster) whose owner made it."""

    __tablename__ = "channel_links"

    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"), index=True)
    platform: Mapped[Platform] = mapped_column(platform_enum)
    external_id: Mapped[str] = mapped_column(String(128))
    status: Mapped[LinkStatus] = mapped_column(
        Enum(LinkStatus, name="link_status", values_callable=lambda e: [m.value for m in e]),
        default=LinkStatus.unverified,
        server_default=LinkStatus.unverified.value,
    )
    platform_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("platform_accounts.id"), default=None, index=True
    )

    __table_args__ = (
        UniqueConstraint("platform", "external_id"),
        CheckConstraint(
            "status = 'unverified' OR platform_account_id IS NOT NULL",
            name="verified_names_account",
        ),
    )

    @property
    def verified(self) -> bool:
        """Proven by its owner through OAuth (still so while it needs a relink)."""
        return self.status is not LinkStatus.unverified


class ChannelModerator(CreatedAtMixin, Base):
    __tablename__ = "channel_moderators"

    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    added_by: Mapped[int] = mapped_column(ForeignKey("users.id"))


class ChannelMember(Base):
    """A viewer who joined a channel: got the sign-up grant once, claims a daily bonus."""

    __tablename__ = "channel_members"

    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    joined_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    last_bonus_at: Mapped[datetime | None] = mapped_column(default=None)


class ChannelAudit(IdMixin, CreatedAtMixin, Base):
    """What owners and moderators did in a channel (grants, moderator changes), append-only."""

    __tablename__ = "channel_audit"

    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSONB)


class PointsGrant(IdMixin, CreatedAtMixin, Base):
    """A staff grant of channel points: who granted, to whom, how much, why, and its ledger
    transaction. Append-only; the daily cap per granter and channel is counted from here."""

    __tablename__ = "points_grants"

    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    granted_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(200))
    transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"), unique=True)

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("granted_by <> user_id", name="not_self_granted"),
        Index("ix_points_grants_channel_granter_time", "channel_id", "granted_by", "created_at"),
    )
