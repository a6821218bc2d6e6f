"""Each bettor's result of a paid pool, written by the ``pool.notify_results`` job after the
payout commits: once per bettor and one push per device however often and however concurrently
the job runs, and delivered by the sweep when the job was never enqueued or died midway."""

import asyncio
import contextlib
from collections import Counter
from typing import Any

import httpx
from sqlalchemy import text

from app.kit.resources import Resources
from app.kit.uow import unit_of_work
from app.kit.worker import JobContext
from app.pool import tasks
from app.pool.settlement import pool_settlement, results_job_id, settle_job_id
from integrations.firebase.client import FcmClient
from tests.conftest import RunJobs
from tests.fakes.fcm import FakeFcm
from tests.notification.conftest import add_device
from tests.worlds import World, bet, open_pool, points_balance


def _ctx(resources: Resources) -> JobContext:
    return {"resources": resources}


async def _scalar(resources: Resources, sql: str, **params: Any) -> Any:
    async with unit_of_work(resources) as session:
        return await session.scalar(text(sql), params)


async def _results(resources: Resources, pool_id: int) -> Counter[tuple[int, str]]:
    """(user, kind) of each result row of the pool, counted."""
    async with unit_of_work(resources) as session:
        rows = await session.execute(
            text("SELECT user_id, kind FROM notifications WHERE event_key = :key"),
            {"key": f"pool.result:{pool_id}"},
        )
        return Counter((int(r.user_id), str(r.kind)) for r in rows)


async def _told(resources: Resources, pool_id: int) -> bool:
    marked = await _scalar(
        resources, "SELECT results_notified_at FROM pools WHERE id = :p", p=pool_id
    )
    return marked is not None


async def _resolved_pool(
    client: httpx.AsyncClient, world: World, resources: Resources, picks: list[int]
) -> tuple[int, list[int]]:
    """A pool the first viewers bet on (viewer n on outcome ``picks[n]``, 100 each), locked
    and resolved for outcome 0, its settlement job taken off the queue."""
    pool = await open_pool(client, world)
    outcomes = [o["id"] for o in pool["outcomes"]]
    for n, pick in enumerate(picks):
        placed = await bet(client, world.viewers[n], pool["id"], outcomes[pick], 100, f"r{n}")
        assert placed.is_success, placed.text
    owner = world.owner.auth
    assert (await client.post(f"/api/v1/pools/{pool['id']}/lock", headers=owner)).is_success
    resolved = await client.post(
        f"/api/v1/pools/{pool['id']}/resolve", json={"outcome_id": outcomes[0]}, headers=owner
    )
    assert resolved.is_success, resolved.text
    await _unqueue(resources, settle_job_id(int(pool["id"])))
    return int(pool["id"]), outcomes


async def _unqueue(resources: Resources, job_id: str) -> None:
    assert await resources.jobs.zrem("arq:queue", job_id) == 1
    await resources.jobs.delete(f"arq:job:{job_id}")


async def _settle_and_lose_the_results_job(resources: Resources, pool_id: int) -> None:
    """Settle the pool, then drop its results job as if the process died right after the
    commit, before the enqueue."""
    async with unit_of_work(resources) as session:
        assert await pool_settlement.settle(session, resources, pool_id)
    await _unqueue(resources, results_job_id(pool_id))


async def test_the_payout_commits_first_and_the_results_job_run_twice_tells_each_bettor_once(
    client: httpx.AsyncClient,
    world: World,
    resources: Resources,
    push: FcmClient,
    fake_fcm: FakeFcm,
    run_jobs: RunJobs,
) -> None:
    winner, loser = world.viewers[:2]
    await add_device(resources, winner.id, "winner-phone", "ios")
    await add_device(resources, winner.id, "winner-browser", "web")
    await add_device(resources, loser.id, "loser-phone", "android")
    pool_id, _ = await _resolved_pool(client, world, resources, [0, 1])
    await run_jobs()  # the pool.opened fan-out and its pushes
    fake_fcm.messages.clear()
    await _settle_and_lose_the_results_job(resources, pool_id)

    # Paid, and nobody told yet: the money does not wait for the inbox.
    assert await points_balance(client, winner, world.currency) == 10_100
    assert await _results(resources, pool_id) == Counter()
    assert not await _told(resources, pool_id)

    assert await tasks.notify_results(_ctx(resources), pool_id) == 2
    assert await tasks.notify_results(_ctx(resources), pool_id) == 0
    await run_jobs()
    assert await tasks.notify_results(_ctx(resources), pool_id) == 0
    await run_jobs()

    assert await _results(resources, pool_id) == Counter(
        {(winner.id, "pool.won"): 1, (loser.id, "pool.lost"): 1}
    )
    assert await _told(resources, pool_id)
    assert fake_fcm.per_token() == Counter(
        {"winner-phone": 1, "winner-browser": 1, "loser-phone": 1}
    )
    recipients = await _scalar(
        resources,
        "SELECT recipients FROM notification_events WHERE key = :k",
        k=f"pool.result:{pool_id}",
    )
    assert recipients == 2


async def test_two_results_jobs_at_once_write_each_row_once_and_push_once(
    client: httpx.AsyncClient,
    world: World,
    resources: Resources,
    push: FcmClient,
    fake_fcm: FakeFcm,
    run_jobs: RunJobs,
) -> None:
    bettors = world.viewers[:3]
    for n, viewer in enumerate(bettors):
        await add_device(resources, viewer.id, f"device-{n}")
    pool_id, _ = await _resolved_pool(client, world, resources, [0, 1, 1])
    async with unit_of_work(resources) as session:
        assert await pool_settlement.settle(session, resources, pool_id)
    await run_jobs()  # its own results job and their pushes
    fake_fcm.messages.clear()
    # Untold again, as if the job had not run: rows and marker gone, deliveries with them.
    async with unit_of_work(resources) as session:
        for sql in (
            "DELETE FROM notifications WHERE event_key = :key",
            "DELETE FROM notification_events WHERE key = :key",
            "UPDATE pools SET results_notified_at = NULL WHERE id = :pool",
        ):
            await session.execute(text(sql), {"key": f"pool.result:{pool_id}", "pool": pool_id})

    async with unit_of_work(resources) as first:
        assert await pool_settlement.notify_results(first, pool_id) == 3
        # The sweep skips a pool whose results job is running.
        async with unit_of_work(resources) as sweep:
            assert await pool_settlement.results_untold(sweep) == []
        second = asyncio.create_task(tasks.notify_results(_ctx(resources), pool_id))
        assert await _waiting_on_a_lock(resources)  # for the first one's marker
        assert not second.done()
    assert await second == 0
    await run_jobs()

    assert await _results(resources, pool_id) == Counter(
        {
            (bettors[0].id, "pool.won"): 1,
            (bettors[1].id, "pool.lost"): 1,
            (bettors[2].id, "pool.lost"): 1,
        }
    )
    assert fake_fcm.per_token() == Counter({"device-0": 1, "device-1": 1, "device-2": 1})
    assert await _told(resources, pool_id)


async def test_results_whose_job_was_never_enqueued_or_died_are_delivered_by_the_sweep(
    client: httpx.AsyncClient,
    world: World,
    resources: Resources,
    push: FcmClient,
    fake_fcm: FakeFcm,
    run_jobs: RunJobs,
) -> None:
    await add_device(resources, world.viewers[0].id, "lost-phone")
    await add_device(resources, world.viewers[2].id, "everyone-phone")
    # One pool with a winner and a loser; one on which everyone backed the winner (the
    # parimutuel rule refunds them all); one cancelled and refunded.
    paid, _ = await _resolved_pool(client, world, resources, [0, 1])
    await _settle_and_lose_the_results_job(resources, paid)
    everyone = await open_pool(client, world)
    cancelled = await open_pool(client, world)
    yes = everyone["outcomes"][0]["id"]
    owner = world.owner.auth
    assert (await bet(client, world.viewers[2], everyone["id"], yes, 100, "e")).is_success
    other = cancelled["outcomes"][1]["id"]
    assert (await bet(client, world.viewers[3], cancelled["id"], other, 100, "c")).is_success
    await client.post(f"/api/v1/pools/{everyone['id']}/lock", headers=owner)
    await client.post(
        f"/api/v1/pools/{everyone['id']}/resolve", json={"outcome_id": yes}, headers=owner
    )
    await _settle_and_lose_the_results_job(resources, int(everyone["id"]))
    assert (await client.post(f"/api/v1/pools/{cancelled['id']}/cancel", headers=owner)).is_success
    async with unit_of_work(resources) as session:
        assert await pool_settlement.refund(session, resources, int(cancelled["id"]))
    await _unqueue(resources, results_job_id(int(cancelled["id"])))
    # A results job that dies midway leaves nothing behind.
    with contextlib.suppress(ConnectionResetError):
        async with unit_of_work(resources) as session:
            assert await pool_settlement.notify_results(session, paid) == 2
            raise ConnectionResetError("the worker died")
    await run_jobs()
    fake_fcm.messages.clear()
    for pool_id in (paid, int(everyone["id"]), int(cancelled["id"])):
        assert await _results(resources, pool_id) == Counter()
        assert not await _told(resources, pool_id)

    await resources.jobs.enqueue_job("pool.sweep")
    await run_jobs()

    assert await _results(resources, paid) == Counter(
        {(world.viewers[0].id, "pool.won"): 1, (world.viewers[1].id, "pool.lost"): 1}
    )
    assert await _results(resources, int(everyone["id"])) == Counter(
        {(world.viewers[2].id, "pool.refunded"): 1}
    )
    assert await _results(resources, int(cancelled["id"])) == Counter(
        {(world.viewers[3].id, "pool.refunded"): 1}
    )
    assert fake_fcm.per_token() == Counter({"lost-phone": 1, "everyone-phone": 1})
    inbox = (await client.get("/api/v1/me/notifications", headers=world.viewers[0].auth)).json()
    assert inbox["notifications"][0]["title"] == "You won 200 points!"
    # Told, and nothing left for the next sweep.
    async with unit_of_work(resources) as session:
        assert await pool_settlement.results_untold(session) == []


async def _waiting_on_a_lock(resources: Resources) -> bool:
    for _ in range(500):
        waiting = await _scalar(
            resources,
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND query LIKE 'INSERT INTO notification_events%'",
        )
        if waiting:
            return True
        await asyncio.sleep(0.01)
    return False
