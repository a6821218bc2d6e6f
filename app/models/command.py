"""Chat commands: each one read from a platform chat, recorded once per platform message id."""

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, CreatedAtMixin, IdMixin
from app.models.channel import Platform, platform_enum


class ChatCommand(IdMixin, CreatedAtMixin, Base):
    """A command a chatter gave (``!bet``, ``!lock``...), who gave it (by platform identity,
    and their account when they have one) and what came of it. The unique message id is what
    makes a command act once, whichever delivery of the message arrives and how often."""

    __tablename__ = "chat_commands"

    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    platform: Mapped[Platform] = mapped_column(platform_enum)
    message_id: Mapped[str] = mapped_column(String(128))
    platform_user_id: Mapped[str] = mapped_column(String(128))
    login: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    command: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(String(500))
    pool_id: Mapped[int | None] = mapped_column(ForeignKey("pools.id"), default=None)
    #: "ok", "replayed", or the stable error code the command was refused with.
    result: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        UniqueConstraint("platform", "message_id"),
        Index("ix_chat_commands_channel_created", "channel_id", "created_at"),
    )
