"""SQL of the stream pipeline: the platform channel links event subscriptions are kept for."""

from dataclasses import dataclass

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.channel import ChannelLink, LinkStatus, Platform
from app.models.platform import PlatformAccount, PlatformToken, TokenPurpose, TokenStatus


@dataclass(frozen=True, slots=True)
class PlatformLink:
    """A proven platform link (verified, or needing a relink) and its broadcaster's grant."""

    channel_id: int
    #: The broadcaster's platform user id (the link's platform channel).
    broadcaster_id: str
    status: LinkStatus
    #: The broadcaster's platform account.
    account_id: int
    #: None when the broadcaster's grant was never stored.
    grant_status: TokenStatus | None
    scopes: frozenset[str]


class StreamRepository:
    async def links(
        self,
        session: AsyncSession,
        platform: Platform,
        *,
        channel_id: int | None = None,
        broadcaster_id: str | None = None,
    ) -> list[PlatformLink]:
        """The proven links to ``platform`` (of one channel, or of one broadcaster, or all)."""
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
                ChannelLink.platform == platform,
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
            PlatformLink(
                channel_id=channel,
                broadcaster_id=broadcaster,
                status=status,
                account_id=account,
                grant_status=grant_status,
                scopes=frozenset(scopes or ()),
            )
            for channel, broadcaster, status, account, grant_status, scopes in result
        ]


stream_repository = StreamRepository()
