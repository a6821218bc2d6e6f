"""Platform identities (a Twitch, Kick or YouTube account) and their OAuth tokens."""

import enum
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, CreatedAtMixin, IdMixin
from app.models.channel import Platform, platform_enum


class TokenPurpose(enum.StrEnum):
    broadcaster = "broadcaster"  # the streamer's own grant (their channel's events, predictions)
    bot = "bot"  # the chat bot's account


class TokenStatus(enum.StrEnum):
    active = "active"
    needs_relink = "needs_relink"  # revoked or failing: its owner must sign in with it again


class PlatformAccount(IdMixin, CreatedAtMixin, Base):
    """A platform identity, keyed on the platform's stable user id (never on a name, which its
    owner may change: login and display name follow the platform)."""

    __tablename__ = "platform_accounts"

    platform: Mapped[Platform] = mapped_column(platform_enum)
    platform_user_id: Mapped[str] = mapped_column(String(128))
    login: Mapped[str] = mapped_column(String(128))
    display_name: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    __table_args__ = (UniqueConstraint("platform", "platform_user_id"),)


class PlatformToken(IdMixin, CreatedAtMixin, Base):
    """A platform account's OAuth grant for one purpose, its tokens encrypted (app.kit.cipher).
    ``version`` grows with every store, so a refresh only overwrites the tokens it read."""

    __tablename__ = "platform_tokens"

    platform_account_id: Mapped[int] = mapped_column(ForeignKey("platform_accounts.id"))
    purpose: Mapped[TokenPurpose] = mapped_column(
        Enum(TokenPurpose, name="token_purpose", values_callable=lambda e: [m.value for m in e])
    )
    access_token: Mapped[str] = mapped_column(Text)
    refresh_token: Mapped[str] = mapped_column(Text)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(128)))
    expires_at: Mapped[datetime]
    status: Mapped[TokenStatus] = mapped_column(
        Enum(TokenStatus, name="token_status", values_callable=lambda e: [m.value for m in e]),
        default=TokenStatus.active,
    )
    version: Mapped[int] = mapped_column(default=1, server_default=text("1"))
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    __table_args__ = (
        UniqueConstraint("platform_account_id", "purpose"),
        CheckConstraint("version > 0", name="version_positive"),
        # The refresh job's scan: active tokens by expiry.
        Index(
            "ix_platform_tokens_refresh_due",
            "expires_at",
            postgresql_where=text("status = 'active'"),
        ),
    )
