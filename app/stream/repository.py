"""SQL of the event pipeline: which of our channels a platform channel is linked to."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.channel import ChannelLink, Platform


class StreamRepository:
    async def linked_channel_id(
        self, session: AsyncSession, platform: Platform, platform_channel_id: str
    ) -> int | None:
        """Our channel that verifiably owns the platform channel (linked through OAuth)."""
        return await session.scalar(
            select(ChannelLink.channel_id).where(
                ChannelLink.platform == platform,
                ChannelLink.external_id == platform_channel_id,
                ChannelLink.verified.is_(True),
            )
        )


stream_repository = StreamRepository()
