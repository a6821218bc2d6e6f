"""The worker as ``arq workers.settings.WorkerSettings`` runs it: repair sweeps at start-up and
every few seconds, and its own metrics listener."""

import itertools
from collections.abc import Callable, Iterator

import httpx
import pytest
from arq.worker import Worker, create_worker
from prometheus_client import REGISTRY
from sqlalchemy import text

from app.kit.embedded import free_port
from app.kit.jobs import redis_settings
from app.kit.resources import Resources
from app.kit.uow import unit_of_work
from app.settings import Settings, get_settings
from tests.worlds import World, bet, open_pool
from workers.settings import CRON_JOBS, WorkerSettings

TOKEN = "worker-metrics-token-0123456789"

StartWorker = Callable[..., Worker]


@pytest.fixture
def start_worker(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[StartWorker]:
    """A burst worker built from WorkerSettings (its own start-up and shutdown), reading its
    settings from the environment as in production; no cron, so it stops once the queue is
    empty."""

    def build(**environment: str) -> Worker:
        monkeypatch.setenv("STREAMPOOLS_DATABASE_URL", settings.database_url)
        monkeypatch.setenv("STREAMPOOLS_REDIS_URL", settings.redis_url)
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        return create_worker(
            dict(vars(WorkerSettings)),  # as `arq` reads it
            redis_settings=redis_settings(settings.redis_url),
            cron_jobs=[],
            burst=True,
            poll_delay=0.01,
            handle_signals=False,
        )

    yield build
    get_settings.cache_clear()


async def _status(resources: Resources, pool_id: int) -> str:
    async with unit_of_work(resources) as session:
        found = await session.scalar(text("SELECT status FROM pools WHERE id = :p"), {"p": pool_id})
    return str(found)


async def test_a_pool_whose_settlement_was_lost_is_paid_as_soon_as_a_worker_starts(
    client: httpx.AsyncClient, world: World, resources: Resources, start_worker: StartWorker
) -> None:
    pool = await open_pool(client, world)
    yes, no = (o["id"] for o in pool["outcomes"])
    assert (await bet(client, world.viewers[0], pool["id"], yes, 100, "a")).status_code == 201
    assert (await bet(client, world.viewers[1], pool["id"], no, 300, "b")).status_code == 201
    path = f"/api/v1/pools/{pool['id']}"
    assert (await client.post(f"{path}/lock", headers=world.owner.auth)).status_code == 200
    resolved = await client.post(
        f"{path}/resolve", json={"outcome_id": yes}, headers=world.owner.auth
    )
    assert resolved.status_code == 200, resolved.text
    await resources.redis.flushall()  # Redis wiped: the settlement job is gone
    assert await _status(resources, pool["id"]) == "resolved"

    worker = start_worker()
    try:
        await worker.main()
    finally:
        await worker.close()

    assert await _status(resources, pool["id"]) == "settled"
    wallets = (await client.get("/api/v1/me/wallets", headers=world.viewers[0].auth)).json()
    assert [w["balance"] for w in wallets["wallets"]] == [10_000 - 100 + 400]


def test_the_settlement_sweep_runs_at_least_every_ten_seconds() -> None:
    sweep = next(job for job in CRON_JOBS if job.name == "cron:pool.sweep")
    assert (sweep.month, sweep.day, sweep.weekday, sweep.hour, sweep.minute) == (None,) * 5
    assert isinstance(sweep.second, set)
    seconds = sorted(sweep.second)
    gaps = [later - earlier for earlier, later in itertools.pairwise(seconds)]
    gaps.append(60 - seconds[-1] + seconds[0])  # round the minute
    assert max(gaps) < 10, seconds


def _sample(text_format: str, name: str, labels: dict[str, str]) -> float | None:
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text_format):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return None


async def test_the_worker_serves_its_job_metrics_behind_the_token(
    resources: Resources, start_worker: StartWorker
) -> None:
    counted = {"job": "ledger.check", "outcome": "succeeded"}
    before = REGISTRY.get_sample_value("streampools_worker_jobs_total", counted) or 0
    await resources.jobs.enqueue_job("ledger.check")
    port = free_port()
    worker = start_worker(
        STREAMPOOLS_WORKER_METRICS_PORT=str(port), STREAMPOOLS_METRICS_TOKEN=TOKEN
    )
    try:
        await worker.main()
        async with httpx.AsyncClient(timeout=10) as scraper:
            url = f"http://127.0.0.1:{port}/metrics"
            assert (await scraper.get(url)).status_code == 401
            wrong = await scraper.get(url, headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401
            served = await scraper.get(url, headers={"Authorization": f"Bearer {TOKEN}"})
    finally:
        await worker.close()
    assert served.status_code == 200
    body = served.text
    assert _sample(body, "streampools_worker_jobs_total", counted) == before + 1
    duration = {"job": "ledger.check"}
    assert (_sample(body, "streampools_worker_job_duration_seconds_count", duration) or 0) >= 1
    assert _sample(body, "streampools_worker_queue_depth", {}) is not None
