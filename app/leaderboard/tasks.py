"""Jobs of the leaderboards."""

from app.kit.uow import read_session
from app.kit.worker import JobContext, resources_of
from app.leaderboard.service import leaderboard_service


async def apply_pool(ctx: JobContext, pool_id: int) -> bool:
    """Add a settled pool's results to its channel's leaderboards."""
    resources = resources_of(ctx)
    async with read_session(resources) as session:
        return await leaderboard_service.apply_pool(session, resources.redis, pool_id)


async def rebuild(ctx: JobContext) -> int:
    """Rebuild every leaderboard from PostgreSQL (after Redis was wiped, say)."""
    resources = resources_of(ctx)
    async with read_session(resources) as session:
        return await leaderboard_service.rebuild_all(session, resources.redis)
