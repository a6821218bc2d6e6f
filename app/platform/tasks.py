"""Jobs of platform identities."""

from app.kit.uow import unit_of_work
from app.kit.worker import JobContext, resources_of
from app.platform.service import platform_identity_service


async def sweep_merged_accounts(ctx: JobContext) -> int:
    """Move what merged chat-only accounts were paid after their merge to their new account."""
    async with unit_of_work(resources_of(ctx)) as session:
        return await platform_identity_service.sweep_merged(session)
