"""Pools as their readers see them: who may see a pool, and its view with live totals, the
displayed multipliers and the reader's own position."""

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.tokens import Principal
from app.channel.errors import NotChannelStaff
from app.channel.permissions import channel_or_404, is_staff
from app.kit.errors import InvalidInput
from app.kit.rooms import channel_room
from app.models.channel import Channel
from app.models.pool import Pool, PoolOutcome, PoolStatus
from app.pool import parimutuel, schemas
from app.pool.errors import PoolNotFound
from app.pool.live import pool_totals
from app.pool.repository import OutcomeTotal, pool_repository


def room(pool: Pool) -> str:
    """Where a pool's events go: its channel's room, which viewers join (``channel:join``)."""
    return channel_room(pool.channel_id)


def published(pool: Pool) -> bool:
    """Whether everyone may see the pool: once opened, it is public for good. A pool never
    opened (a draft, or a draft called off) is its channel's staff's business only."""
    return pool.opened_at is not None


def paid_out(pool: Pool, payout: int | None) -> int | None:
    """What a position got back: nothing yet (None) until the pool is paid; a losing position
    of a paid pool keeps no payout row and got 0."""
    if payout is None and pool.status in (PoolStatus.settled, PoolStatus.refunded):
        return 0
    return payout


def parse_cursor(cursor: str | None) -> int | None:
    """A page cursor this API handed out (a bet id), or None for the first page."""
    if cursor is None or cursor == "":
        return None
    if not (cursor.isascii() and cursor.isdigit()) or not 0 < int(cursor) < 2**63:
        raise InvalidInput("cursor", "is not a cursor this API returned")
    return int(cursor)


async def staff_or_admin(session: AsyncSession, channel: Channel, principal: Principal) -> bool:
    return principal.is_admin or await is_staff(session, channel, principal.user_id)


class PoolViewService:
    async def read(
        self, session: AsyncSession, redis: Redis, pool_id: int, viewer: Principal | None
    ) -> schemas.Pool:
        """A pool as ``viewer`` may see it (with their position). A pool never opened is shown
        only to its channel's staff; anyone else is told it does not exist, as for a pool that
        never did."""
        pool = await pool_repository.get(session, pool_id)
        if pool is None:
            raise PoolNotFound()
        if not published(pool) and not await self._staff_of(session, pool.channel_id, viewer):
            raise PoolNotFound()
        return await self._render(session, redis, pool, viewer.user_id if viewer else None)

    async def winners(
        self, session: AsyncSession, pool_id: int, viewer: Principal | None, limit: int
    ) -> schemas.Winners:
        """A settled pool's top payouts (none before, and none for a refund); hidden like the
        pool itself when it was never opened."""
        pool = await pool_repository.get(session, pool_id)
        if pool is None:
            raise PoolNotFound()
        if not published(pool) and not await self._staff_of(session, pool.channel_id, viewer):
            raise PoolNotFound()
        rows = []
        if pool.status == PoolStatus.settled:
            rows = await pool_repository.top_payouts(session, pool.id, limit)
        return schemas.Winners(
            pool_id=pool.id,
            status=pool.status,
            currency=pool.currency,
            winners=[
                schemas.Winner(
                    display_name=row.display_name,
                    outcome_id=int(row.outcome_id),
                    stake=int(row.amount),
                    payout=int(row.payout),
                )
                for row in rows
            ],
        )

    async def view(
        self, session: AsyncSession, redis: Redis, pool_id: int, viewer_id: int | None
    ) -> schemas.Pool:
        """A pool whatever its status, for its own staff, jobs and events (see ``read()``)."""
        pool = await pool_repository.get(session, pool_id)
        if pool is None:
            raise PoolNotFound()
        return await self._render(session, redis, pool, viewer_id)

    async def bets(
        self,
        session: AsyncSession,
        pool_id: int,
        principal: Principal,
        cursor: str | None,
        limit: int,
    ) -> schemas.PoolBetPage:
        """Who bet what on the pool, newest bettor first, for its channel's staff. A pool
        never opened reads as missing to anyone else, as ``read()`` does; an opened one is
        refused to them."""
        before_id = parse_cursor(cursor)
        pool = await pool_repository.get(session, pool_id)
        if pool is None:
            raise PoolNotFound()
        channel = await channel_or_404(session, pool.channel_id)
        if not await staff_or_admin(session, channel, principal):
            if not published(pool):
                raise PoolNotFound()
            raise NotChannelStaff()
        rows = await pool_repository.bets_page(session, pool.id, before_id, limit + 1)
        page, more = rows[:limit], len(rows) > limit
        return schemas.PoolBetPage(
            pool_id=pool.id,
            currency=pool.currency,
            bets=[
                schemas.PoolBet(
                    id=int(row.id),
                    user_id=int(row.user_id),
                    display_name=str(row.display_name),
                    outcome_id=int(row.outcome_id),
                    amount=int(row.amount),
                    payout=paid_out(pool, row.payout),
                    placed_at=row.created_at,
                    updated_at=row.updated_at,
                )
                for row in page
            ],
            next_cursor=str(page[-1].id) if more and page else None,
        )

    async def list_for_channel(
        self,
        session: AsyncSession,
        redis: Redis,
        channel_id: int,
        statuses: list[PoolStatus] | None,
        viewer: Principal | None,
    ) -> schemas.PoolList:
        """The channel's pools, newest first; pools never opened only for its staff."""
        channel = await channel_or_404(session, channel_id)
        staff = viewer is not None and await staff_or_admin(session, channel, viewer)
        pools = await pool_repository.list_for_channel(
            session, channel_id, statuses, published_only=not staff
        )
        outcomes = await pool_repository.outcomes_of(session, [p.id for p in pools])
        viewer_id = viewer.user_id if viewer else None
        views = []
        for pool in pools:
            totals = await pool_totals.read(session, redis, pool)
            views.append(await self._view(session, pool, outcomes[pool.id], totals, viewer_id))
        return schemas.PoolList(pools=views)

    async def _render(
        self, session: AsyncSession, redis: Redis, pool: Pool, viewer_id: int | None
    ) -> schemas.Pool:
        outcomes = await pool_repository.outcomes(session, pool.id)
        totals = await pool_totals.read(session, redis, pool)
        return await self._view(session, pool, outcomes, totals, viewer_id)

    async def _staff_of(
        self, session: AsyncSession, channel_id: int, viewer: Principal | None
    ) -> bool:
        if viewer is None:
            return False
        return await staff_or_admin(session, await channel_or_404(session, channel_id), viewer)

    async def _view(
        self,
        session: AsyncSession,
        pool: Pool,
        outcomes: list[PoolOutcome],
        totals: dict[int, OutcomeTotal],
        viewer_id: int | None,
    ) -> schemas.Pool:
        staked = sum(t.total for t in totals.values())
        position = None
        if viewer_id is not None:
            row = await pool_repository.position(session, pool.id, viewer_id)
            if row is not None:
                position = schemas.Position(
                    outcome_id=int(row.outcome_id),
                    amount=int(row.amount),
                    payout=paid_out(pool, row.payout),
                )
        return schemas.Pool(
            id=pool.id,
            channel_id=pool.channel_id,
            title=pool.title,
            currency=pool.currency,
            status=pool.status,
            min_stake=pool.min_stake,
            max_stake=pool.max_stake,
            rake_bps=pool.rake_bps,
            window_seconds=pool.window_seconds,
            closes_at=pool.closes_at,
            opened_at=pool.opened_at,
            locked_at=pool.locked_at,
            resolved_at=pool.resolved_at,
            winning_outcome_id=pool.winning_outcome_id,
            settled_at=pool.settled_at,
            cancelled_at=pool.cancelled_at,
            outcomes=[
                schemas.Outcome(
                    id=o.id,
                    position=o.position,
                    label=o.label,
                    total=totals[o.id].total if o.id in totals else 0,
                    bettors=totals[o.id].bettors if o.id in totals else 0,
                    multiplier_bps=parimutuel.multiplier_bps(
                        staked, totals[o.id].total if o.id in totals else 0, pool.rake_bps
                    ),
                )
                for o in outcomes
            ],
            total=staked,
            bettors=sum(t.bettors for t in totals.values()),
            my_position=position,
        )


pool_views = PoolViewService()
