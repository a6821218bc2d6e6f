"""Each job run is counted under its name and how it ended, and timed."""

from typing import Any

import pytest
from arq import Retry
from prometheus_client import REGISTRY

from app.kit.worker_metrics import instrumented


def _count(job: str, outcome: str) -> float:
    value = REGISTRY.get_sample_value(
        "streampools_worker_jobs_total", {"job": job, "outcome": outcome}
    )
    return value or 0.0


async def test_jobs_are_counted_by_outcome_and_timed() -> None:
    async def job(ctx: dict[Any, Any], how: str) -> str:
        if how == "fail":
            raise RuntimeError("boom")
        if how == "retry":
            raise Retry(defer=1)
        return how

    run = instrumented("test.job", job)
    before = {o: _count("test.job", o) for o in ("succeeded", "failed", "retried")}
    assert await run({}, "ok") == "ok"
    with pytest.raises(RuntimeError):
        await run({}, "fail")
    with pytest.raises(Retry):
        await run({}, "retry")
    assert {o: _count("test.job", o) - before[o] for o in before} == {
        "succeeded": 1,
        "failed": 1,
        "retried": 1,
    }
    timed = REGISTRY.get_sample_value(
        "streampools_worker_job_duration_seconds_count", {"job": "test.job"}
    )
    assert timed is not None and timed >= 3
    running = REGISTRY.get_sample_value("streampools_worker_jobs_running", {"job": "test.job"})
    assert running == 0


async def test_a_cron_job_records_when_it_last_succeeded() -> None:
    async def tick(ctx: dict[Any, Any]) -> None:
        return None

    await instrumented("cron:test.tick", tick, cron=True)({})
    last = REGISTRY.get_sample_value(
        "streampools_worker_cron_last_success_timestamp_seconds", {"job": "cron:test.tick"}
    )
    assert last is not None and last > 1_700_000_000
