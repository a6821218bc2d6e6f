"""The worker's log stays quiet by default: a cron run that did nothing writes no INFO line, and a
run that did something writes one."""

import logging
from collections.abc import Iterator

import httpx
import pytest
from arq.worker import Worker
from sqlalchemy import text

from app.kit.jobs import deserialize, redis_settings, serialize
from app.kit.logging import configure_logging
from app.kit.resources import Resources
from app.kit.uow import unit_of_work
from tests.worlds import World, open_pool, world
from workers.settings import CRON_JOBS, FUNCTIONS

__all__ = ["world"]

LOCK_DUE = next(job for job in CRON_JOBS if job.name == "cron:pool.lock_due")


@pytest.fixture
def worker_logging(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """The worker's logging as it starts (INFO), recorded by caplog; the suite's restored after."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging("INFO", as_json=True)
    root.addHandler(caplog.handler)
    caplog.set_level(logging.DEBUG, logger="arq")  # DEBUG lines are kept, to show they exist
    try:
        yield caplog
    finally:
        root.handlers[:], root.level = handlers, level


async def run_lock_due(resources: Resources, runs: int, first: int = 0) -> None:
    """``runs`` runs of the lock-due cron, as the worker's schedule enqueues them."""
    for n in range(first, first + runs):
        await resources.jobs.enqueue_job(LOCK_DUE.name, _job_id=f"{LOCK_DUE.name}:{n}")
    # A burst may stop before the last runs are picked up (arq counts its own cron run toward
    # max_burst_jobs when a second boundary passes on a busy machine): burst again until done.
    complete = 0
    for _ in range(10):
        worker = Worker(
            functions=FUNCTIONS,
            cron_jobs=[LOCK_DUE],
            redis_settings=redis_settings(resources.settings.redis_url),
            ctx={"resources": resources},
            burst=True,
            max_burst_jobs=runs - complete,
            poll_delay=0.01,
            handle_signals=False,
            job_serializer=serialize,
            job_deserializer=deserialize,
            keep_result=0,
        )
        try:
            await worker.main()
        finally:
            await worker.close()
        assert worker.jobs_failed == 0
        complete += worker.jobs_complete
        if complete >= runs:
            return
    raise AssertionError(f"only {complete} of {runs} cron runs completed")


def job_lines(caplog: pytest.LogCaptureFixture, level: int = logging.INFO) -> list[str]:
    """The worker's lines about job runs at ``level`` or above (its start and stop lines, once
    per process, are left out: each burst here is a process of its own)."""
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "arq.worker" and r.levelno >= level and str(r.msg).startswith("%6.2fs")
    ]


async def test_a_burst_of_cron_runs_that_do_nothing_logs_nothing_at_info(
    resources: Resources, worker_logging: pytest.LogCaptureFixture
) -> None:
    await run_lock_due(resources, 20)
    assert job_lines(worker_logging) == []
    assert len(job_lines(worker_logging, logging.DEBUG)) >= 40  # started, finished: at DEBUG


async def test_a_cron_run_that_locks_a_pool_logs_one_line(
    client: httpx.AsyncClient,
    world: World,
    resources: Resources,
    worker_logging: pytest.LogCaptureFixture,
) -> None:
    pool = await open_pool(client, world)
    async with unit_of_work(resources) as session:
        await session.execute(
            text("UPDATE pools SET closes_at = now() - interval '1 second' WHERE id = :id"),
            {"id": pool["id"]},
        )
    worker_logging.clear()
    await run_lock_due(resources, 1)
    lines = job_lines(worker_logging)
    assert len(lines) == 1, lines
    assert "cron:pool.lock_due" in lines[0] and lines[0].endswith("● 1")
