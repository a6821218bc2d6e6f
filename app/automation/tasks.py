"""Jobs of automations: delayed opens, and re-enqueuing those a lost job left waiting."""

from app.automation.service import automation_service
from app.kit.uow import unit_of_work
from app.kit.worker import JobContext, resources_of


async def open_delayed(ctx: JobContext, firing_id: int) -> bool:
    """Open a delayed rule's pool if its stream session is still live."""
    resources = resources_of(ctx)
    async with unit_of_work(resources) as session:
        return await automation_service.open_delayed(session, resources, firing_id)


async def reschedule_delayed(ctx: JobContext) -> int:
    async with unit_of_work(resources_of(ctx)) as session:
        return await automation_service.reschedule_delayed(session)
