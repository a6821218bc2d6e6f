"""GET /pools/{id}/winners: a settled pool's largest payouts, what an overlay shows."""

import httpx

from tests.conftest import RunJobs
from tests.worlds import World, bet, open_pool


async def test_a_settled_pool_lists_its_biggest_payouts_first(
    client: httpx.AsyncClient, world: World, run_jobs: RunJobs
) -> None:
    pool = await open_pool(client, world)
    yes, no = (o["id"] for o in pool["outcomes"])
    stakes = [(yes, 300), (yes, 100), (no, 400), (yes, 300)]
    for n, (outcome, amount) in enumerate(stakes):
        assert (
            await bet(client, world.viewers[n], pool["id"], outcome, amount, f"w{n}")
        ).is_success
    url = f"/api/v1/pools/{pool['id']}/winners"
    before = (await client.get(url)).json()
    assert (before["status"], before["winners"]) == ("open", [])

    await client.post(f"/api/v1/pools/{pool['id']}/lock", headers=world.owner.auth)
    await client.post(
        f"/api/v1/pools/{pool['id']}/resolve", json={"outcome_id": yes}, headers=world.owner.auth
    )
    await run_jobs()

    body = (await client.get(url)).json()
    assert body["status"] == "settled"
    assert body["currency"] == world.currency
    # 1,100 staked, 700 on yes, no rake on points: 300 → 471 (+1 leftover), 100 → 157.
    assert [(w["display_name"], w["stake"], w["payout"]) for w in body["winners"]] == [
        ("Viewer0", 300, 472),
        ("Viewer3", 300, 471),
        ("Viewer1", 100, 157),
    ]
    assert sum(w["payout"] for w in body["winners"]) == 1_100
    top = (await client.get(url, params={"limit": 1})).json()["winners"]
    assert [w["display_name"] for w in top] == ["Viewer0"]


async def test_winners_of_a_draft_are_hidden_and_limits_checked(
    client: httpx.AsyncClient, world: World
) -> None:
    draft = await open_pool(client, world, open=False)
    url = f"/api/v1/pools/{draft['id']}/winners"
    assert (await client.get(url)).json()["error"]["code"] == "pool_not_found"
    assert (await client.get(url, headers=world.owner.auth)).status_code == 200
    bad = await client.get(url, params={"limit": 51}, headers=world.owner.auth)
    assert bad.status_code == 422
    assert (await client.get("/api/v1/pools/999999/winners")).status_code == 404
