"""Jobs of platform identities."""

from app.kit.uow import unit_of_work
from app.kit.worker import JobContext, resources_of
from app.platform.oauth import platform_sign_in_service
from app.platform.service import platform_identity_service
from app.platform.tokens import REFRESH_BATCH


async def sweep_merged_accounts(ctx: JobContext) -> int:
    """Move what merged chat-only accounts were paid after their merge to their new account."""
    async with unit_of_work(resources_of(ctx)) as session:
        return await platform_identity_service.sweep_merged(session)


async def refresh_platform_tokens(ctx: JobContext) -> int | None:
    """Refresh the platform tokens about to expire; a revoked one marks its links
    ``needs_relink`` and tells its owner. None when no platform is configured. One token per
    transaction: the refresh token the platform hands back (the old one then stops working) is
    stored before the next token is asked for, so a crash loses at most the one in flight."""
    resources = resources_of(ctx)
    tried: set[int] = set()
    refreshed = 0
    while len(tried) < REFRESH_BATCH:
        before = len(tried)
        async with unit_of_work(resources) as session:
            count = await platform_sign_in_service.refresh_due_tokens(
                session, resources.settings, limit=1, tried=tried
            )
        if count is None:
            return None
        refreshed += count
        if len(tried) == before:
            break
    return refreshed
