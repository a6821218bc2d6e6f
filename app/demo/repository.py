"""SQL of the demo: its channel, locked while a new demo pool is decided on."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.channel import Channel


class DemoRepository:
    async def channel_for_update(self, session: AsyncSession, slug: str) -> Channel | None:
        """The channel row, locked until commit: two workers reopening the demo at once take
        turns, and the second finds the first one's pool."""
        result = await session.execute(
            select(Channel).where(Channel.slug == slug).with_for_update()
        )
        return result.scalar_one_or_none()


demo_repository = DemoRepository()
