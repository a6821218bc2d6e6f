"""Anonymous pool reads, served from the web process's copies: an ETag and 304s, transitions
seen at once, new totals within moments, drafts never, signed-in readers their own view."""

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.conftest import LiveServer, RunJobs
from tests.worlds import World, bet, open_pool


@pytest.fixture
async def viewer_client(live_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    """HTTP as a browser sends it: no `Cache-Control`, so the process's copies may answer."""
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as http:
        yield http


async def eventually_total(client: httpx.AsyncClient, path: str, total: int) -> dict[str, object]:
    for _ in range(100):
        body: dict[str, object] = (await client.get(path)).json()
        if body["total"] == total:
            return body
        await asyncio.sleep(0.02)
    raise AssertionError(f"the total never became {total}: {body}")


async def test_an_anonymous_read_carries_an_etag_and_revalidates(
    client: httpx.AsyncClient, viewer_client: httpx.AsyncClient, world: World
) -> None:
    pool = await open_pool(client, world)
    path = f"/api/v1/pools/{pool['id']}"
    first = await viewer_client.get(path)
    again = await viewer_client.get(path)  # served from the copy
    assert first.status_code == again.status_code == 200
    assert first.content == again.content
    etag = first.headers["etag"]
    assert again.headers["etag"] == etag and first.headers["cache-control"] == "no-cache"
    assert again.headers["x-request-id"]
    unchanged = await viewer_client.get(path, headers={"If-None-Match": etag})
    assert (unchanged.status_code, unchanged.content) == (304, b"")
    assert unchanged.headers["etag"] == etag
    other = await viewer_client.get(path, headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200

    assert (
        await bet(client, world.viewers[0], pool["id"], pool["outcomes"][0]["id"], 50, "k")
    ).is_success
    body = await eventually_total(viewer_client, path, 50)
    assert body["bettors"] == 1
    changed = await viewer_client.get(path, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag


async def test_transitions_show_at_once(
    client: httpx.AsyncClient, viewer_client: httpx.AsyncClient, world: World, run_jobs: RunJobs
) -> None:
    pool = await open_pool(client, world)
    path = f"/api/v1/pools/{pool['id']}"
    yes = pool["outcomes"][0]["id"]
    await bet(client, world.viewers[0], pool["id"], yes, 100, "a")
    assert (await viewer_client.get(path)).json()["status"] == "open"
    await client.post(f"{path}/lock", headers=world.owner.auth)
    assert (await viewer_client.get(path)).json()["status"] == "locked"
    await client.post(f"{path}/resolve", json={"outcome_id": yes}, headers=world.owner.auth)
    assert (await viewer_client.get(path)).json()["status"] == "resolved"
    await run_jobs()  # the worker's settlement is heard through Redis
    for _ in range(100):
        if (await viewer_client.get(path)).json()["status"] == "settled":
            break
        await asyncio.sleep(0.02)
    else:
        raise AssertionError("the settlement was never seen")


async def test_drafts_and_signed_in_readers_are_never_served_a_copy(
    client: httpx.AsyncClient, viewer_client: httpx.AsyncClient, world: World
) -> None:
    draft = await open_pool(client, world, open=False)
    draft_path = f"/api/v1/pools/{draft['id']}"
    for _ in range(2):
        assert (await viewer_client.get(draft_path)).status_code == 404
    assert (await viewer_client.get(draft_path, headers=world.owner.auth)).status_code == 200

    pool = await open_pool(client, world)
    path = f"/api/v1/pools/{pool['id']}"
    viewer = world.viewers[1]
    await bet(client, viewer, pool["id"], pool["outcomes"][1]["id"], 70, "b")
    await eventually_total(viewer_client, path, 70)
    assert (await viewer_client.get(path)).json().get("my_position") is None
    mine = (await viewer_client.get(path, headers=viewer.auth)).json()["my_position"]
    assert mine["amount"] == 70
    # At the source on request: a bet's total at once, before its coalesced update.
    await bet(client, viewer, pool["id"], pool["outcomes"][1]["id"], 5, "c")
    exact = await viewer_client.get(path, headers={"Cache-Control": "no-cache"})
    assert exact.json()["total"] == 75
    await eventually_total(viewer_client, path, 75)
    # A query string or an Origin goes through the API itself, with the same answer.
    assert (await viewer_client.get(path, params={"x": "1"})).status_code in (200, 422)
    cors = await viewer_client.get(path, headers={"Origin": "http://127.0.0.1:8000"})
    assert cors.json()["total"] == 75


async def test_reads_answered_from_copies_are_counted(
    client: httpx.AsyncClient, viewer_client: httpx.AsyncClient, world: World
) -> None:
    pool = await open_pool(client, world)
    path = f"/api/v1/pools/{pool['id']}"

    async def served() -> float:
        metrics = (await viewer_client.get("/metrics")).text
        found = next(
            (
                line
                for line in metrics.splitlines()
                if line.startswith('streampools_public_pool_reads_total{status="200"}')
            ),
            "x 0",
        )
        return float(found.split()[-1])

    before = await served()
    await viewer_client.get(path)  # renders the copy
    for _ in range(3):
        await viewer_client.get(path)
    assert await served() - before == 3
