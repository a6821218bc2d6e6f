"""Jobs of platform identities."""

from app.kit.uow import unit_of_work
from app.kit.worker import JobContext, resources_of
from app.platform.oauth import twitch_sign_in_service
from app.platform.service import platform_identity_service


async def sweep_merged_accounts(ctx: JobContext) -> int:
    """Move what merged chat-only accounts were paid after their merge to their new account."""
    async with unit_of_work(resources_of(ctx)) as session:
        return await platform_identity_service.sweep_merged(session)


async def refresh_platform_tokens(ctx: JobContext) -> int | None:
    """Refresh the platform tokens about to expire; a revoked one marks its links
    ``needs_relink`` and tells its owner. None when Twitch is not configured."""
    resources = resources_of(ctx)
    async with unit_of_work(resources) as session:
        return await twitch_sign_in_service.refresh_due_tokens(session, resources.settings)
