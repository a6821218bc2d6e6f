"""Jobs of pools: settle, refund, lock at close time, cancel stale, re-enqueue unpaid."""

import logging
import time

from app.kit.uow import unit_of_work
from app.kit.worker import JobContext, resources_of
from app.models.pool import PoolStatus
from app.pool.service import pool_service, refund_job_id, settle_job_id

log = logging.getLogger(__name__)


async def settle_pool(ctx: JobContext, pool_id: int) -> bool:
    """Pay the winners of a resolved pool (a no-op once settled)."""
    resources = resources_of(ctx)
    async with unit_of_work(resources) as session:
        return await pool_service.settle(session, resources, pool_id)


async def refund_pool(ctx: JobContext, pool_id: int) -> bool:
    """Refund every stake of a cancelled pool (a no-op once refunded)."""
    resources = resources_of(ctx)
    async with unit_of_work(resources) as session:
        return await pool_service.refund(session, resources, pool_id)


async def announce_pool(ctx: JobContext, pool_id: int) -> int:
    """Push each bettor of a paid pool their new balance and a notification."""
    return await pool_service.announce(resources_of(ctx), pool_id)


async def lock_due_pools(ctx: JobContext) -> int:
    resources = resources_of(ctx)
    async with unit_of_work(resources) as session:
        return await pool_service.lock_due(session, resources)


async def cancel_stale_pools(ctx: JobContext) -> int:
    resources = resources_of(ctx)
    async with unit_of_work(resources) as session:
        return await pool_service.cancel_stale(
            session, resources, resources.settings.pool_stale_lock_hours
        )


async def sweep_unpaid_pools(ctx: JobContext) -> int:
    """Re-enqueue settlement or refund of pools resolved or cancelled but not yet paid (a lost
    enqueue, a worker that died mid-job)."""
    resources = resources_of(ctx)
    async with unit_of_work(resources) as session:
        unpaid = await pool_service.unpaid(session)
    # A fresh job id per sweep: the job of a worker that died keeps its id reserved until arq
    # gives up on it, and the settle/refund jobs are safe to run twice anyway.
    sweep = f"sweep:{int(time.time()) // 60}"
    for pool_id, status in unpaid:
        if status is PoolStatus.resolved:
            job_id = f"{settle_job_id(pool_id)}:{sweep}"
            await resources.jobs.enqueue_job("pool.settle", pool_id, _job_id=job_id)
        else:
            job_id = f"{refund_job_id(pool_id)}:{sweep}"
            await resources.jobs.enqueue_job("pool.refund", pool_id, _job_id=job_id)
    return len(unpaid)
