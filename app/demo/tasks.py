"""Jobs of the demo: keep an open pool in the demo channel while developing."""

from app.demo.service import demo_service
from app.kit.uow import unit_of_work
from app.kit.worker import JobContext, resources_of


async def reopen_demo_pool(ctx: JobContext) -> int | None:
    """Open a new demo pool when the demo channel has none open (development only); the new
    pool's id, or None."""
    resources = resources_of(ctx)
    if not demo_service.keeps_pool_open(resources.settings):
        return None
    async with unit_of_work(resources) as session:
        return await demo_service.reopen(session, resources)
