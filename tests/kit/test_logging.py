"""Log lines are JSON for machines and readable on a terminal, each with the id of the request
that wrote it; the worker's log stays quiet by default: a cron run that did nothing writes no
INFO line, and a run that did something writes one."""

import json
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
from app.settings import Settings
from tests.conftest import RunJobs
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


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """The suite's logging handlers and level, put back after a test reconfigures them."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:], root.level = handlers, level


async def test_json_lines_carry_the_request_id(
    client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str], restored_logging: None
) -> None:
    configure_logging("INFO", as_json=True)
    response = await client.get("/healthz", headers={"X-Request-Id": "req-json-1"})
    assert response.headers["x-request-id"] == "req-json-1"
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    access = [line for line in lines if line.get("path") == "/healthz"]
    assert len(access) == 1, lines
    assert access[0]["message"] == "request"
    assert access[0]["request_id"] == "req-json-1"
    assert (access[0]["level"], access[0]["logger"], access[0]["status"]) == (
        "info",
        "streampools.http",
        200,
    )
    assert access[0]["time"].endswith("Z")


async def test_console_lines_are_readable_and_carry_the_request_id(
    client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str], restored_logging: None
) -> None:
    configure_logging("INFO", as_json=False)
    await client.get("/healthz", headers={"X-Request-Id": "req-console-1"})
    lines = [line for line in capsys.readouterr().err.splitlines() if "path=/healthz" in line]
    assert len(lines) == 1, lines
    line = lines[0]
    assert not line.startswith("{")
    assert "[info" in line and " request " in line and "[streampools.http]" in line
    assert "request_id=req-console-1" in line and "status=200" in line


def test_an_exception_is_one_json_line_with_its_traceback(
    capsys: pytest.CaptureFixture[str], restored_logging: None
) -> None:
    configure_logging("INFO", as_json=True)
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("streampools.test").exception("job %s failed", 7)
    (line,) = capsys.readouterr().err.splitlines()
    logged = json.loads(line)
    assert logged["message"] == "job 7 failed" and logged["level"] == "error"
    assert "RuntimeError: boom" in logged["exception"]


def test_json_unless_told_otherwise_or_on_a_developers_terminal() -> None:
    assert Settings(env="production").json_logs is True
    assert Settings(env="production", log_json=False).json_logs is False
    assert Settings(env="development", log_json=True).json_logs is True
    assert Settings(env="development").json_logs is None  # JSON unless stderr is a terminal


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
    run_jobs: RunJobs,
) -> None:
    pool = await open_pool(client, world)
    await run_jobs()  # what opening queued (telling the channel's members) runs first
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
