"""The state of a channel as a live client first sees it; events keep it current after that."""

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.tokens import Principal
from app.channel.permissions import channel_or_404
from app.channel.repository import channel_repository
from app.channel.service import channel_view
from app.chat.service import chat_service
from app.kit.currency import cash, points
from app.kit.resources import Resources
from app.leaderboard.service import leaderboard_service
from app.live import schemas
from app.models.pool import PoolStatus
from app.pool.views import pool_views
from app.wallet.service import wallet_service

SNAPSHOT_LEADERS = 10
SNAPSHOT_CHAT = 50


class LiveService:
    async def snapshot(
        self,
        session: AsyncSession,
        resources: Resources,
        channel_id: int,
        viewer: Principal | None,
    ) -> schemas.ChannelSnapshot:
        """Everything a client needs to draw the channel: its live pools (with the caller's
        positions), the caller's balances, the leaderboard's top 10 and the latest chat."""
        channel = await channel_or_404(session, channel_id)
        links = await channel_repository.links(session, channel.id)
        pools = await pool_views.list_for_channel(
            session,
            resources.redis,
            channel.id,
            [PoolStatus.open, PoolStatus.locked],
            viewer,
        )
        balances = []
        if viewer is not None:
            wanted = {points(channel.id), cash(resources.settings.cash_currency)}
            wallets = await wallet_service.list(session, viewer.user_id)
            balances = [w for w in wallets.wallets if w.currency in wanted]
        leaderboard = await leaderboard_service.read(
            session, resources.redis, channel.id, points(channel.id), "all", SNAPSHOT_LEADERS
        )
        chat = await chat_service.history(resources.redis, channel.id, SNAPSHOT_CHAT)
        return schemas.ChannelSnapshot(
            channel=channel_view(channel, links),
            pools=pools.pools,
            balances=balances,
            leaderboard=leaderboard,
            chat=chat,
        )


live_service = LiveService()
