"""The worker's Prometheus metrics: jobs run by name and outcome, their durations, the queue's
depth and when each cron job last succeeded."""

import asyncio
import contextlib
import functools
import time
from collections.abc import Awaitable, Callable
from typing import Any

from arq import Retry
from arq.constants import default_queue_name
from arq.typing import WorkerCoroutine
from arq.worker import RetryJob
from prometheus_client import Counter, Gauge, Histogram

JOBS = Counter(
    "streampools_worker_jobs",
    "Jobs run, by job name and outcome (succeeded, failed, retried, cancelled).",
    ["job", "outcome"],
)
JOB_DURATION = Histogram(
    "streampools_worker_job_duration_seconds",
    "How long jobs ran, by job name.",
    ["job"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
JOBS_RUNNING = Gauge("streampools_worker_jobs_running", "Jobs running now, by job name.", ["job"])
QUEUE_DEPTH = Gauge(
    "streampools_worker_queue_depth", "Jobs in the arq queue (due now or deferred)."
)
CRON_LAST_SUCCESS = Gauge(
    "streampools_worker_cron_last_success_timestamp_seconds",
    "When each cron job last succeeded (Unix time).",
    ["job"],
)

#: How often the queue's depth is read from Redis.
QUEUE_DEPTH_INTERVAL_SECONDS = 5.0


def instrumented(name: str, job: WorkerCoroutine, *, cron: bool = False) -> WorkerCoroutine:
    """``job`` counted and timed under ``name``. Wrapped rather than measured in arq's
    on_job_start/on_job_end hooks: those see neither the function's name nor how it ended."""

    @functools.wraps(job)
    async def run(ctx: dict[Any, Any], *args: Any, **kwargs: Any) -> Any:
        outcome = "failed"
        started = time.perf_counter()
        JOBS_RUNNING.labels(name).inc()
        try:
            result = await job(ctx, *args, **kwargs)
        except (Retry, RetryJob):
            outcome = "retried"
            raise
        except asyncio.CancelledError:  # a timeout, an abort, or the worker shutting down
            outcome = "cancelled"
            raise
        else:
            outcome = "succeeded"
            if cron:
                CRON_LAST_SUCCESS.labels(name).set_to_current_time()
            return result
        finally:
            JOBS_RUNNING.labels(name).dec()
            JOB_DURATION.labels(name).observe(time.perf_counter() - started)
            JOBS.labels(name, outcome).inc()

    return run


async def watch_queue_depth(
    read_depth: Callable[[str], Awaitable[int]],
    interval: float = QUEUE_DEPTH_INTERVAL_SECONDS,
) -> None:
    """Keep ``QUEUE_DEPTH`` current until cancelled (``read_depth`` is the queue's ZCARD)."""
    while True:
        # Redis away: the gauge keeps its last value meanwhile.
        with contextlib.suppress(Exception):
            QUEUE_DEPTH.set(await read_depth(default_queue_name))
        await asyncio.sleep(interval)
