"""SQL of chat moderation."""

from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.chat import ChatModeration, ModerationAction
from app.models.user import User


class ChatRepository:
    async def display_name(self, session: AsyncSession, user_id: int) -> str | None:
        result = await session.execute(select(User.display_name).where(User.id == user_id))
        return result.scalar_one_or_none()

    async def timed_out_until(
        self, session: AsyncSession, channel_id: int, user_id: int
    ) -> datetime | None:
        """When the user's latest timeout in the channel ends, if it has not ended yet."""
        result = await session.execute(
            text(
                "SELECT expires_at FROM (SELECT expires_at FROM chat_moderation"
                " WHERE channel_id = :channel AND target_user_id = :user AND action = 'timeout'"
                " ORDER BY id DESC LIMIT 1) AS latest WHERE expires_at > now()"
            ),
            {"channel": channel_id, "user": user_id},
        )
        return result.scalar_one_or_none()

    async def record(
        self,
        session: AsyncSession,
        *,
        channel_id: int,
        actor_id: int,
        action: ModerationAction,
        target_user_id: int | None,
        message_id: str | None = None,
        message_text: str | None = None,
        seconds: int | None = None,
    ) -> ChatModeration:
        row = ChatModeration(
            channel_id=channel_id,
            actor_id=actor_id,
            action=action,
            target_user_id=target_user_id,
            message_id=message_id,
            message_text=message_text,
            seconds=seconds,
        )
        if seconds is not None:
            row.expires_at = await session.scalar(
                text("SELECT now() + make_interval(secs => :seconds)"), {"seconds": seconds}
            )
        session.add(row)
        await session.flush()
        return row


chat_repository = ChatRepository()
