"""Leaderboards survive lost jobs, repeated jobs and a wiped Redis: they are re-derived from the
settled pools in PostgreSQL."""

from typing import Any

import httpx

from app.kit.resources import Resources
from app.leaderboard.tasks import apply_pool, sweep
from tests.conftest import RunJobs
from tests.worlds import World, bet, open_pool


async def _settled_pool(client: httpx.AsyncClient, world: World, run_jobs: RunJobs) -> int:
    pool = await open_pool(client, world)
    yes, no = (o["id"] for o in pool["outcomes"])
    await bet(client, world.viewers[0], pool["id"], yes, 300, "lb-a")
    await bet(client, world.viewers[1], pool["id"], no, 500, "lb-b")
    await client.post(f"/api/v1/pools/{pool['id']}/lock", headers=world.owner.auth)
    await client.post(
        f"/api/v1/pools/{pool['id']}/resolve", json={"outcome_id": yes}, headers=world.owner.auth
    )
    await run_jobs()
    return int(pool["id"])


async def _board(client: httpx.AsyncClient, world: World) -> list[tuple[int, int, int]]:
    answer = await client.get(
        f"/api/v1/channels/{world.channel_id}/leaderboard",
        params={"currency": world.currency, "period": "all"},
    )
    return [(row["user_id"], row["net"], row["wins"]) for row in answer.json()["rows"]]


async def test_a_pool_counts_once_however_often_it_is_applied(
    client: httpx.AsyncClient, world: World, resources: Resources, run_jobs: RunJobs
) -> None:
    pool_id = await _settled_pool(client, world, run_jobs)
    expected = [(world.viewers[0].id, 500, 1), (world.viewers[1].id, -500, 0)]
    assert await _board(client, world) == expected
    ctx: dict[str, Any] = {"resources": resources}
    assert await apply_pool(ctx, pool_id) is False
    assert await _board(client, world) == expected


async def test_the_sweep_applies_pools_whose_job_was_lost_and_rebuilds_a_wiped_redis(
    client: httpx.AsyncClient, world: World, resources: Resources, run_jobs: RunJobs
) -> None:
    pool_id = await _settled_pool(client, world, run_jobs)
    expected = await _board(client, world)
    ctx: dict[str, Any] = {"resources": resources}
    assert await sweep(ctx) > 0  # a first sweep finds no marker of a whole board: rebuilds
    assert await _board(client, world) == expected

    # The job of a settled pool was lost: no marker, nothing on the board.
    stale = [key async for key in resources.redis.scan_iter(match="lb:*")]
    await resources.redis.delete(*[k for k in stale if k != "lb:built"])
    assert await _board(client, world) == []
    assert await sweep(ctx) == 1
    assert await _board(client, world) == expected
    assert await sweep(ctx) == 0  # nothing left to do

    await resources.redis.flushall()
    assert await sweep(ctx) > 0
    assert await _board(client, world) == expected
    assert await resources.redis.exists(f"lb:applied:{pool_id}")
