"""Leaderboards in Redis sorted sets: all-time sets, plus daily buckets summed on read for
the last 7 or 30 days. Updated after each settlement; rebuildable from PostgreSQL."""

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError
from sqlalchemy.ext.asyncio import AsyncSession

from app.channel.permissions import channel_or_404
from app.leaderboard import schemas
from app.leaderboard.repository import Result, leaderboard_repository

BUCKET_TTL = int(timedelta(days=32).total_seconds())
APPLIED_TTL = int(timedelta(days=90).total_seconds())
METRICS = ("net", "wins")
#: Present while the boards in Redis are whole; a Redis that lost it needs a rebuild.
BUILT = "lb:built"


def _key(channel_id: int, currency: str, metric: str, bucket: str) -> str:
    return f"lb:{channel_id}:{currency}:{metric}:{bucket}"


def _day(day: date) -> str:
    return f"d:{day:%Y%m%d}"


class LeaderboardService:
    async def apply_pool(
        self, session: AsyncSession, redis: Redis, pool_id: int
    ) -> tuple[int, str] | None:
        """Add a settled pool's results, once: the results and the pool's "applied" marker are
        written in one Redis transaction, so a crash or a concurrent run cannot count a pool
        twice or leave it marked but missing. Returns the board that changed."""
        results = await leaderboard_repository.results_of_pool(session, pool_id)
        if not results:
            return None  # not settled (yet), or nobody bet
        marker = f"lb:applied:{pool_id}"
        async with redis.pipeline(transaction=True) as pipe:
            await pipe.watch(marker)
            if await pipe.exists(marker):
                return None
            pipe.multi()  # type: ignore[no-untyped-call]
            self._queue_add(pipe, results)
            pipe.set(marker, 1, ex=APPLIED_TTL)
            try:
                await pipe.execute()
            except WatchError:
                return None  # applied concurrently
        return results[0].channel_id, results[0].currency

    async def unapplied(self, redis: Redis, pool_ids: list[int]) -> list[int]:
        """Which of these settled pools are missing from the leaderboards."""
        if not pool_ids:
            return []
        async with redis.pipeline(transaction=False) as pipe:
            for pool_id in pool_ids:
                pipe.exists(f"lb:applied:{pool_id}")
            applied = await pipe.execute()
        return [pool_id for pool_id, done in zip(pool_ids, applied, strict=True) if not done]

    async def rebuild_channel(self, session: AsyncSession, redis: Redis, channel_id: int) -> int:
        """Recompute a channel's leaderboards from the bets of its settled pools."""
        results = await leaderboard_repository.results_of_channel(session, channel_id)
        stale = [key async for key in redis.scan_iter(match=f"lb:{channel_id}:*", count=500)]
        if stale:
            await redis.delete(*stale)
        await self._add(redis, results)
        for pool_id in await leaderboard_repository.settled_pool_ids(session, channel_id):
            await redis.set(f"lb:applied:{pool_id}", 1, ex=APPLIED_TTL)
        return len(results)

    async def rebuild_all(self, session: AsyncSession, redis: Redis) -> int:
        total = 0
        for channel_id in await leaderboard_repository.channel_ids(session):
            total += await self.rebuild_channel(session, redis, channel_id)
        await redis.set(BUILT, 1)
        return total

    async def needs_rebuild(self, redis: Redis) -> bool:
        """True when Redis lost the boards (wiped or replaced): only a rebuild restores them."""
        return not await redis.exists(BUILT)

    async def read(
        self,
        session: AsyncSession,
        redis: Redis,
        channel_id: int,
        currency: str,
        period: schemas.Period,
        limit: int,
    ) -> schemas.Leaderboard:
        await channel_or_404(session, channel_id)
        net_key = await self._period_key(redis, channel_id, currency, "net", period)
        wins_key = await self._period_key(redis, channel_id, currency, "wins", period)
        top = await redis.zrevrange(net_key, 0, limit - 1, withscores=True)
        user_ids = [int(member) for member, _ in top]
        wins = await redis.zmscore(wins_key, [str(u) for u in user_ids]) if user_ids else []
        names = await leaderboard_repository.display_names(session, user_ids)
        return schemas.Leaderboard(
            channel_id=channel_id,
            currency=currency,
            period=period,
            rows=[
                schemas.LeaderboardRow(
                    rank=rank,
                    user_id=user_id,
                    display_name=names.get(user_id, "?"),
                    net=int(score),
                    wins=int(won or 0),
                )
                for rank, ((_, score), user_id, won) in enumerate(
                    zip(top, user_ids, wins, strict=True), start=1
                )
            ],
        )

    async def _period_key(
        self, redis: Redis, channel_id: int, currency: str, metric: str, period: str
    ) -> str:
        if period == "all":
            return _key(channel_id, currency, metric, "all")
        days = 7 if period == "7d" else 30
        today = datetime.now(UTC).date()
        buckets = [
            _key(channel_id, currency, metric, _day(today - timedelta(days=n))) for n in range(days)
        ]
        target = _key(channel_id, currency, metric, f"last{days}")
        async with redis.pipeline(transaction=True) as pipe:
            pipe.zunionstore(target, buckets)
            pipe.expire(target, 30)
            await pipe.execute()
        return target

    async def _add(self, redis: Redis, results: Iterable[Result]) -> None:
        async with redis.pipeline(transaction=False) as pipe:
            self._queue_add(pipe, results)
            await pipe.execute()

    def _queue_add(self, pipe: Pipeline, results: Iterable[Result]) -> None:
        for r in results:
            member = str(r.user_id)
            for bucket in ("all", _day(r.day)):
                pipe.zincrby(_key(r.channel_id, r.currency, "net", bucket), r.net, member)
                pipe.zincrby(_key(r.channel_id, r.currency, "wins", bucket), int(r.won), member)
                if bucket != "all":
                    for metric in METRICS:
                        pipe.expire(_key(r.channel_id, r.currency, metric, bucket), BUCKET_TTL)


leaderboard_service = LeaderboardService()
