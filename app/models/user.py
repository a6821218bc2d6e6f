"""Accounts and their refresh tokens."""

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Uuid,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, CreatedAtMixin, IdMixin


class Role(enum.StrEnum):
    user = "user"
    admin = "admin"


class User(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "users"

    email: Mapped[str | None] = mapped_column(String(320))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(64))
    role: Mapped[Role] = mapped_column(
        Enum(Role, name="user_role", values_callable=lambda e: [m.value for m in e]),
        default=Role.user,
        server_default=Role.user.value,
    )
    birth_date: Mapped[date | None] = mapped_column(default=None)
    #: Known only by a platform identity from chat: no email, no password, no date of birth
    #: (so never cash), until its owner claims it by signing in with that platform.
    chat_only: Mapped[bool] = mapped_column(server_default=text("false"))
    #: A chat-only account merged into a full one: its identities and money moved there.
    merged_into: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (
        Index("uq_users_email_lower", func.lower(email), unique=True),
        CheckConstraint(
            "NOT chat_only OR (email IS NULL AND password_hash IS NULL AND birth_date IS NULL)",
            name="chat_only_has_no_credentials",
        ),
        CheckConstraint("merged_into IS NULL OR chat_only", name="only_chat_only_merged"),
    )


class RefreshToken(IdMixin, CreatedAtMixin, Base):
    """An opaque refresh token, stored as its SHA-256. Tokens of one sign-in share a family;
    presenting a token that was already rotated revokes the whole family."""

    __tablename__ = "refresh_tokens"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    family_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    expires_at: Mapped[datetime]
    rotated_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
