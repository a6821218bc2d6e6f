"""Who may run a channel: its owner and moderators (and automation acting for it)."""

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.tokens import Principal
from app.channel.errors import ChannelNotFound, NotChannelOwner, NotChannelStaff
from app.channel.repository import channel_repository
from app.models.channel import Channel


async def channel_or_404(session: AsyncSession, channel_id: int) -> Channel:
    channel = await channel_repository.get(session, channel_id)
    if channel is None:
        raise ChannelNotFound()
    return channel


async def is_staff(session: AsyncSession, channel: Channel, user_id: int) -> bool:
    return channel.owner_id == user_id or await channel_repository.is_moderator(
        session, channel.id, user_id
    )


async def require_staff(session: AsyncSession, channel: Channel, principal: Principal) -> None:
    """The caller owns or moderates the channel (admins too)."""
    if principal.is_admin or await is_staff(session, channel, principal.user_id):
        return
    raise NotChannelStaff()


def require_owner(channel: Channel, principal: Principal) -> None:
    if principal.is_admin or channel.owner_id == principal.user_id:
        return
    raise NotChannelOwner()
