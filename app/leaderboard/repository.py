"""SQL the leaderboards are derived from (the bets of settled pools are the truth)."""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True, slots=True)
class Result:
    """One user's net result in one settled pool."""

    channel_id: int
    currency: str
    day: date
    user_id: int
    net: int
    won: bool


class LeaderboardRepository:
    async def results_of_pool(self, session: AsyncSession, pool_id: int) -> list[Result]:
        return await self._results(session, pool_id=pool_id, channel_id=None)

    async def results_of_channel(self, session: AsyncSession, channel_id: int) -> list[Result]:
        return await self._results(session, pool_id=None, channel_id=channel_id)

    async def _results(
        self, session: AsyncSession, *, pool_id: int | None, channel_id: int | None
    ) -> list[Result]:
        result = await session.execute(
            text(
                "SELECT p.channel_id, p.currency, (p.settled_at AT TIME ZONE 'UTC')::date AS day,"
                " b.user_id, coalesce(b.payout, 0) - b.amount AS net,"
                " coalesce(b.payout, 0) > b.amount AS won"
                " FROM bets b JOIN pools p ON p.id = b.pool_id"
                " WHERE p.status = 'settled'"
                " AND (CAST(:pool AS bigint) IS NULL OR p.id = :pool)"
                " AND (CAST(:channel AS bigint) IS NULL OR p.channel_id = :channel)"
            ),
            {"pool": pool_id, "channel": channel_id},
        )
        return [
            Result(r.channel_id, r.currency, r.day, r.user_id, int(r.net), bool(r.won))
            for r in result
        ]

    async def settled_pool_ids(self, session: AsyncSession, channel_id: int) -> list[int]:
        result = await session.execute(
            text("SELECT id FROM pools WHERE channel_id = :c AND status = 'settled'"),
            {"c": channel_id},
        )
        return [int(i) for i in result.scalars()]

    async def recently_settled(self, session: AsyncSession, hours: int) -> list[int]:
        result = await session.execute(
            text(
                "SELECT id FROM pools WHERE status = 'settled'"
                " AND settled_at > now() - make_interval(hours => :hours) ORDER BY id"
            ),
            {"hours": hours},
        )
        return [int(i) for i in result.scalars()]

    async def channel_ids(self, session: AsyncSession) -> list[int]:
        result = await session.execute(text("SELECT id FROM channels ORDER BY id"))
        return [int(i) for i in result.scalars()]

    async def display_names(self, session: AsyncSession, user_ids: list[int]) -> dict[int, str]:
        result = await session.execute(
            text("SELECT id, display_name FROM users WHERE id = ANY(CAST(:ids AS bigint[]))"),
            {"ids": user_ids},
        )
        return {int(r.id): str(r.display_name) for r in result}


leaderboard_repository = LeaderboardRepository()
