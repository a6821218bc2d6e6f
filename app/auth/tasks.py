"""Jobs of the auth domain."""

import logging

from app.auth.repository import refresh_token_repository
from app.kit.uow import unit_of_work
from app.kit.worker import JobContext, resources_of

log = logging.getLogger(__name__)


async def prune_refresh_tokens(ctx: JobContext) -> int:
    """Delete refresh tokens that expired more than a day ago."""
    async with unit_of_work(resources_of(ctx)) as session:
        deleted = await refresh_token_repository.delete_expired(session)
    log.info("pruned refresh tokens", extra={"deleted": deleted})
    return deleted
