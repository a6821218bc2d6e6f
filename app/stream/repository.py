"""SQL of the stream pipeline: the Twitch channel links EventSub subscriptions are kept for."""

from dataclasses import dataclass

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.channel import ChannelLink, LinkStatus, Platform
from app.models.platform import PlatformAccount, PlatformToken, TokenPurpose, TokenStatus


@dataclass(frozen=True, slots=True)
class TwitchLink:
    """A proven Twitch link (verified, or needing a relink) and its broadcaster's grant."""

    channel_id: int
    #: The broadcaster's Twitch user id (the link's platform channel).
    broadcaster_id: str
    status: LinkStatus
    #: The broadcaster's platform account.
    account_id: int
    #: None when the broadcaster's grant was never stored.
    grant_status: TokenStatus | None
    scopes: frozenset[str]


class StreamRepository:
    async def twitch_links(
        self,
        session: AsyncSession,
        *,
        channel_id: int | None = None,
        broadcaster_id: str | None = None,
    ) -> list[TwitchLink]:
        """The proven Twitch links (of one channel, or of one broadcaster, or all)."""
        query = (
            select(
                ChannelLink.channel_id,
                ChannelLink.external_id,
                ChannelLink.status,
                PlatformAccount.id,
                PlatformToken.status,
                PlatformToken.scopes,
            )
            .join(PlatformAccount, PlatformAccount.id == ChannelLink.platform_account_id)
            .outerjoin(
                PlatformToken,
                and_(
                    PlatformToken.platform_account_id == PlatformAccount.id,
                    PlatformToken.purpose == TokenPurpose.broadcaster,
                ),
            )
            .where(
                ChannelLink.platform == Platform.twitch,
                ChannelLink.status != LinkStatus.unverified,
            )
            .order_by(ChannelLink.id)
        )
        if channel_id is not None:
            query = query.where(ChannelLink.channel_id == channel_id)
        if broadcaster_id is not None:
            query = query.where(ChannelLink.external_id == broadcaster_id)
        result = await session.execute(query)
        return [
            TwitchLink(
                channel_id=channel,
                broadcaster_id=broadcaster,
                status=status,
                account_id=account,
                grant_status=grant_status,
                scopes=frozenset(scopes or ()),
            )
            for channel, broadcaster, status, account, grant_status, scopes in result.tuples()
        ]


stream_repository = StreamRepository()
