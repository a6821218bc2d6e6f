"""SQL of channels (the part pools rely on; see also the channel service)."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.channel import Channel, ChannelModerator


class ChannelRepository:
    async def get(self, session: AsyncSession, channel_id: int) -> Channel | None:
        return await session.get(Channel, channel_id)

    async def is_moderator(self, session: AsyncSession, channel_id: int, user_id: int) -> bool:
        result = await session.execute(
            select(ChannelModerator.user_id).where(
                ChannelModerator.channel_id == channel_id, ChannelModerator.user_id == user_id
            )
        )
        return result.scalar_one_or_none() is not None


channel_repository = ChannelRepository()
