"""Jobs of the inbox: handle one event; sweep for events whose job was lost."""

import logging

from arq import Retry

from app.inbox.repository import inbox_repository
from app.inbox.service import MAX_ATTEMPTS, handle_job_id, inbox_service
from app.kit.uow import unit_of_work
from app.kit.worker import JobContext, resources_of

log = logging.getLogger(__name__)


async def handle_inbox_event(ctx: JobContext, inbox_id: int) -> bool:
    """Handle one stored webhook event; on failure, record why and retry with backoff."""
    resources = resources_of(ctx)
    try:
        async with unit_of_work(resources) as session:
            return await inbox_service.handle(session, resources, inbox_id)
    except Exception as error:
        async with unit_of_work(resources) as session:
            attempts = await inbox_repository.record_failure(session, inbox_id, repr(error))
        log.warning(
            "inbox event failed",
            extra={"inbox_id": inbox_id, "attempts": attempts},
            exc_info=True,
        )
        if attempts < MAX_ATTEMPTS:
            raise Retry(defer=min(2**attempts, 300)) from error
        log.error("inbox event gave up", extra={"inbox_id": inbox_id})
        return False


async def sweep_inbox(ctx: JobContext) -> int:
    """Re-enqueue events received a while ago and still not handled (a lost job, a crash)."""
    resources = resources_of(ctx)
    async with unit_of_work(resources) as session:
        ids = await inbox_repository.unhandled_ids(
            session, older_than_seconds=30, max_attempts=MAX_ATTEMPTS
        )
    for inbox_id in ids:
        await resources.jobs.enqueue_job("inbox.handle", inbox_id, _job_id=handle_job_id(inbox_id))
    return len(ids)
