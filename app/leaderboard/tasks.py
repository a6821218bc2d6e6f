"""Jobs of the leaderboards."""

from app.kit.rooms import channel_room
from app.kit.uow import read_session
from app.kit.worker import JobContext, resources_of
from app.leaderboard.service import leaderboard_service

LIVE_TOP = 10


async def apply_pool(ctx: JobContext, pool_id: int) -> bool:
    """Add a settled pool's results to its channel's leaderboards and push the new top 10."""
    resources = resources_of(ctx)
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


async def rebuild(ctx: JobContext) -> int:
    """Rebuild every leaderboard from PostgreSQL (after Redis was wiped, say)."""
    resources = resources_of(ctx)
    async with read_session(resources) as session:
        return await leaderboard_service.rebuild_all(session, resources.redis)
