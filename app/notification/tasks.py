"""Jobs of notifications: push an event's notifications, tell a channel a pool opened, tell
bettors a pool locks soon, and the sweep that recovers lost or held pushes."""

import logging

from arq import Retry

from app.kit.uow import unit_of_work
from app.kit.worker import JobContext, resources_of
from app.notification.service import notification_service

log = logging.getLogger(__name__)

#: Backoff of pushes FCM refused for now (quota, 5xx), by try: 2, 4, 8, ... up to 60 s.
MAX_BACKOFF_SECONDS = 60


async def push_event(
    ctx: JobContext,
    event_key: str,
    first_user: int | None = None,
    end_user: int | None = None,
    ranges: str | None = None,
) -> dict[str, int]:
    """Push the event's notifications; or those of the users in [first_user, end_user), one
    range of a split event; or, with ``ranges``, be one lane of a split event, pushing the
    ranges it takes off that list. Pushes refused for now are retried with backoff (only
    those, and only in their range: every other push of the event is claimed and never sent
    again)."""
    resources = resources_of(ctx)
    users = None if first_user is None or end_user is None else (first_user, end_user)
    if ranges is not None:
        report = await notification_service.push_lane(resources, event_key, ranges)
    else:
        report = await notification_service.push(resources, event_key, users)
    summary = {
        "sent": report.sent,
        "dead": report.dead,
        "retry": report.retry,
        "failed": report.failed,
        "unknown": report.unknown,
        "parts": report.parts,
    }
    if report.retries_left or report.quota:
        tries = int(ctx.get("job_try", 1))
        log.info("push %s %s: %s; %d to retry", event_key, users, summary, report.retries_left)
        raise Retry(defer=min(2**tries, MAX_BACKOFF_SECONDS))
    return summary


async def pool_opened(ctx: JobContext, pool_id: int) -> int:
    resources = resources_of(ctx)
    async with unit_of_work(resources) as session:
        return await notification_service.pool_opened(session, pool_id)


async def locking_soon(ctx: JobContext) -> int:
    resources = resources_of(ctx)
    async with unit_of_work(resources) as session:
        return await notification_service.locking_soon(
            session, resources.settings.notification_locking_lead_seconds
        )


async def sweep(ctx: JobContext) -> int:
    return await notification_service.sweep(resources_of(ctx))
