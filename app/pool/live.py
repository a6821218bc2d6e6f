"""Live totals of pools: a Redis hash per pool, kept current by each committed bet, rebuilt
from the bets (the truth) when missing and for good at lock time, and pushed to the pool's
channel as ``pool:updated``, coalesced to a few a second."""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.resources import Resources
from app.kit.rooms import channel_room
from app.kit.uow import read_session
from app.models.pool import Pool, PoolStatus
from app.pool import parimutuel, schemas
from app.pool.repository import OutcomeTotal, pool_repository

# Increments after bets commit are skipped once the hash was rebuilt from PostgreSQL at lock
# time ("final"), so late increments cannot double count. In the same round trip, the bets
# claim the pool's next pool:updated (see Coalescer): 1 when this caller is to schedule it.
# ARGV: the claim's milliseconds, then (outcome id, amount, new bettors) per outcome.
_INCREMENT = """
if redis.call('HEXISTS', KEYS[1], 'final') == 0 and redis.call('EXISTS', KEYS[1]) == 1 then
  for i = 2, #ARGV, 3 do
    redis.call('HINCRBY', KEYS[1], 't:' .. ARGV[i], ARGV[i + 1])
    redis.call('HINCRBY', KEYS[1], 'n:' .. ARGV[i], ARGV[i + 2])
  end
end
if redis.call('SET', KEYS[2], 1, 'NX', 'PX', ARGV[1]) then
  return 1
end
return 0
"""

#: How long a pool's totals stay in Redis after their last rebuild.
TOTALS_TTL_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True, slots=True)
class StakeAdded:
    """A committed bet's share of its pool's totals."""

    pool_id: int
    outcome_id: int
    amount: int
    #: Whether the bet opened the bettor's position (one more bettor on the outcome).
    new_position: bool


def _totals_key(pool_id: int) -> str:
    return f"pool:{pool_id}:totals"


class LiveTotalsService:
    async def read(
        self, session: AsyncSession, redis: Redis, pool: Pool
    ) -> dict[int, OutcomeTotal]:
        """Totals per outcome from Redis, rebuilt from the bets (the truth) when missing."""
        return await self._read(session, redis, pool.id, pool.status)

    async def _read(
        self, session: AsyncSession, redis: Redis, pool_id: int, status: PoolStatus
    ) -> dict[int, OutcomeTotal]:
        cached = await redis.hgetall(_totals_key(pool_id))  # type: ignore[misc]
        if cached:
            return {
                int(field[2:]): OutcomeTotal(
                    int(field[2:]), int(value), int(cached.get(f"n:{field[2:]}", 0))
                )
                for field, value in cached.items()
                if field.startswith("t:")
            }
        rows = await pool_repository.totals(session, pool_id)
        if status is not PoolStatus.draft:
            await self.store(redis, pool_id, rows, final=status is not PoolStatus.open)
        return {row.outcome_id: row for row in rows}

    async def store(
        self, redis: Redis, pool_id: int, rows: list[OutcomeTotal], *, final: bool
    ) -> None:
        """Replace a pool's totals; ``final`` ones (taken at lock time) no longer move."""
        mapping: dict[str, int] = {"ready": 1}
        for row in rows:
            mapping[f"t:{row.outcome_id}"] = row.total
            mapping[f"n:{row.outcome_id}"] = row.bettors
        if final:
            mapping["final"] = 1
        async with redis.pipeline(transaction=True) as pipe:
            pipe.delete(_totals_key(pool_id))
            pipe.hset(_totals_key(pool_id), mapping=mapping)
            pipe.expire(_totals_key(pool_id), TOTALS_TTL_SECONDS)
            await pipe.execute()

    async def add_bets(self, resources: Resources, stakes: Sequence[StakeAdded]) -> None:
        """Count committed bets in their pools' totals (summed by outcome, one script per pool,
        all in one round trip), and schedule each pool's next ``pool:updated`` unless one is
        already coming."""
        by_pool: dict[int, dict[int, list[int]]] = {}
        for stake in stakes:
            figures = by_pool.setdefault(stake.pool_id, {}).setdefault(stake.outcome_id, [0, 0])
            figures[0] += stake.amount
            figures[1] += int(stake.new_position)
        if not by_pool:
            return
        coalescer = resources.coalescer
        async with resources.redis.pipeline(transaction=False) as pipe:
            for pool_id, outcomes in by_pool.items():
                args = [str(coalescer.claim_ms)]
                for outcome_id, (amount, bettors) in outcomes.items():
                    args += [str(outcome_id), str(amount), str(bettors)]
                pipe.eval(
                    _INCREMENT,
                    2,
                    _totals_key(pool_id),
                    coalescer.claim_key(f"pool:{pool_id}"),
                    *args,
                )
            claimed = await pipe.execute()
        for pool_id, won in zip(by_pool, claimed, strict=True):
            if won:
                coalescer.schedule(f"pool:{pool_id}", self._publisher(resources, pool_id))

    def _publisher(self, resources: Resources, pool_id: int) -> Callable[[], Awaitable[None]]:
        return lambda: self.publish(resources, pool_id)

    async def publish(self, resources: Resources, pool_id: int) -> None:
        """Push a pool's live totals to its channel (``pool:updated``)."""
        async with read_session(resources) as session:
            terms = await pool_repository.live_terms(session, pool_id)
            if terms is None:
                return
            totals = await self._read(session, resources.redis, pool_id, terms.status)
        staked = sum(t.total for t in totals.values())
        figures = [
            (o, totals[o].total, totals[o].bettors) if o in totals else (o, 0, 0)
            for o in terms.outcome_ids
        ]
        update = schemas.PoolTotals(
            id=pool_id,
            channel_id=terms.channel_id,
            status=terms.status,
            total=staked,
            bettors=sum(t.bettors for t in totals.values()),
            outcomes=[
                schemas.OutcomeTotals(
                    id=outcome_id,
                    total=total,
                    bettors=bettors,
                    multiplier_bps=parimutuel.multiplier_bps(staked, total, terms.rake_bps),
                )
                for outcome_id, total, bettors in figures
            ],
        )
        await resources.emitter.emit("pool:updated", update, room=channel_room(update.channel_id))


pool_totals = LiveTotalsService()
