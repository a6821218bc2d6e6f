"""Chat moderation: every message deletion and timeout, kept for good (chat itself lives in Redis)."""

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, CreatedAtMixin, IdMixin


class ModerationAction(enum.StrEnum):
    delete = "delete"
    timeout = "timeout"


class ChatModeration(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "chat_moderation"

    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    action: Mapped[ModerationAction] = mapped_column(
        Enum(
            ModerationAction,
            name="chat_moderation_action",
            values_callable=lambda e: [m.value for m in e],
        )
    )
    target_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    message_id: Mapped[str | None] = mapped_column(String(64))
    message_text: Mapped[str | None] = mapped_column(String(500))
    seconds: Mapped[int | None] = mapped_column()
    expires_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (
        Index("ix_chat_moderation_timeouts", "channel_id", "target_user_id", "expires_at"),
    )
