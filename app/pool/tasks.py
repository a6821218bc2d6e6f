"""Jobs of pools: settle, refund, tell bettors their results, lock at close time, cancel stale,
and the sweep that re-enqueues what a lost job left undone."""

import logging
import time

from arq.connections import ArqRedis
from arq.constants import default_queue_name, in_progress_key_prefix

from app.kit.uow import unit_of_work
from app.kit.worker import JobContext, resources_of
from app.models.pool import PoolStatus
from app.pool.lifecycle import pool_lifecycle
from app.pool.settlement import pool_settlement, refund_job_id, results_job_id, settle_job_id

log = logging.getLogger(__name__)


async def settle_pool(ctx: JobContext, pool_id: int) -> bool:
    """Pay the winners of a resolved pool (a no-op once settled)."""
    resources = resources_of(ctx)
    async with unit_of_work(resources) as session:
        return await pool_settlement.settle(session, resources, pool_id)


async def refund_pool(ctx: JobContext, pool_id: int) -> bool:
    """Refund every stake of a cancelled pool (a no-op once refunded)."""
    resources = resources_of(ctx)
    async with unit_of_work(resources) as session:
        return await pool_settlement.refund(session, resources, pool_id)


async def notify_results(ctx: JobContext, pool_id: int) -> int:
    """Each bettor's result of a paid pool in their inbox, then pushes and socket events (a
    no-op once done)."""
    resources = resources_of(ctx)
    async with unit_of_work(resources) as session:
        return await pool_settlement.notify_results(session, pool_id)


async def announce_pool(ctx: JobContext, pool_id: int) -> int:
    """Push each bettor of a paid pool their new balance and a notification."""
    return await pool_settlement.announce(resources_of(ctx), pool_id)


async def lock_due_pools(ctx: JobContext) -> int:
    resources = resources_of(ctx)
    async with unit_of_work(resources) as session:
        return await pool_lifecycle.lock_due(session, resources)


async def cancel_stale_pools(ctx: JobContext) -> int:
    resources = resources_of(ctx)
    async with unit_of_work(resources) as session:
        return await pool_lifecycle.cancel_stale(
            session, resources, resources.settings.pool_stale_lock_hours
        )


async def sweep_pools(ctx: JobContext) -> int:
    """Re-enqueue what a lost enqueue, a Redis wipe or a worker that died mid-job left undone:
    the settlement or refund of pools resolved or cancelled but not yet paid, and the results
    of pools paid but whose bettors were never told. Runs every few seconds: quiet, and two
    indexed queries, when there is nothing to do."""
    resources = resources_of(ctx)
    async with unit_of_work(resources) as session:
        unpaid = await pool_settlement.unpaid(session)
        untold = await pool_settlement.results_untold(session)
    for pool_id, status in unpaid:
        if status is PoolStatus.resolved:
            await _repair(resources.jobs, "pool.settle", pool_id, settle_job_id(pool_id))
        else:
            await _repair(resources.jobs, "pool.refund", pool_id, refund_job_id(pool_id))
    for pool_id in untold:
        await _repair(resources.jobs, "pool.notify_results", pool_id, results_job_id(pool_id))
    return len(unpaid) + len(untold)


async def _repair(jobs: ArqRedis, name: str, pool_id: int, job_id: str) -> None:
    """Enqueue the pool's job again unless its own is still waiting its turn. The repair has a
    job id of its own: the job of a worker that died keeps its id reserved until arq gives up
    on it. While a repair is queued, or for a minute after it failed (arq keeps its result),
    its id is taken and nothing is added: a backlog is not doubled every sweep, and a failing
    settlement is retried once a minute, not every few seconds. A repair held by a dead worker
    is replaced under a fresh id."""
    if await _waiting(jobs, job_id):
        return
    repair = f"{job_id}:sweep"
    if await jobs.exists(in_progress_key_prefix + repair):
        repair = f"{repair}:{time.time_ns()}"
    await jobs.enqueue_job(name, pool_id, _job_id=repair)


async def _waiting(jobs: ArqRedis, job_id: str) -> bool:
    """Queued and not taken by any worker yet: it will run."""
    if await jobs.zscore(default_queue_name, job_id) is None:
        return False
    return not await jobs.exists(in_progress_key_prefix + job_id)
