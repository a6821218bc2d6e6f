"""Jobs of the leaderboards."""

from app.kit.resources import Resources
from app.kit.rooms import channel_room
from app.kit.uow import read_session
from app.kit.worker import JobContext, resources_of
from app.leaderboard.repository import leaderboard_repository
from app.leaderboard.service import leaderboard_service

LIVE_TOP = 10


#: How far back the sweep looks for settled pools whose leaderboard job was lost.
SWEEP_HOURS = 48


async def apply_pool(ctx: JobContext, pool_id: int) -> bool:
    """Add a settled pool's results to its channel's leaderboards and push the new top 10."""
    return await _apply(resources_of(ctx), pool_id)


async def _apply(resources: Resources, pool_id: int) -> bool:
    async with read_session(resources) as session:
        board = await leaderboard_service.apply_pool(session, resources.redis, pool_id)
        if board is None:
            return False
        channel_id, currency = board
        top = await leaderboard_service.read(
            session, resources.redis, channel_id, currency, "all", LIVE_TOP
        )
    await resources.emitter.emit("leaderboard:updated", top, room=channel_room(channel_id))
    return True


async def sweep(ctx: JobContext) -> int:
    """Re-derive what Redis lost: every board after a wipe, or the recently settled pools
    whose ``leaderboard.apply_pool`` job never ran."""
    resources = resources_of(ctx)
    if await leaderboard_service.needs_rebuild(resources.redis):
        return await rebuild(ctx)
    async with read_session(resources) as session:
        settled = await leaderboard_repository.recently_settled(session, SWEEP_HOURS)
    applied = 0
    for pool_id in await leaderboard_service.unapplied(resources.redis, settled):
        applied += await _apply(resources, pool_id)
    return applied


async def rebuild(ctx: JobContext) -> int:
    """Rebuild every leaderboard from PostgreSQL (after Redis was wiped, say)."""
    resources = resources_of(ctx)
    async with read_session(resources) as session:
        return await leaderboard_service.rebuild_all(session, resources.redis)
