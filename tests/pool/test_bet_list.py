"""``GET /api/v1/pools/{id}/bets``: a pool's bettors for its channel's staff, newest first, in
pages; a draft stays hidden from everyone else."""

import uuid

import httpx

from tests.conftest import RunJobs
from tests.worlds import World, bet, open_pool

Client = httpx.AsyncClient


async def test_staff_read_the_bettors_newest_first_in_pages(client: Client, world: World) -> None:
    pool = await open_pool(client, world)
    yes, no = (o["id"] for o in pool["outcomes"])
    for n, viewer in enumerate(world.viewers):
        placed = await bet(client, viewer, pool["id"], yes if n % 2 == 0 else no, 100 + n, "k")
        assert placed.status_code == 201, placed.text
    # More stake on the same outcome stays one position.
    more = await bet(client, world.viewers[0], pool["id"], yes, 50, str(uuid.uuid4()))
    assert more.status_code == 201, more.text

    path = f"/api/v1/pools/{pool['id']}/bets"
    for staff in (world.owner, world.moderator):
        first = await client.get(f"{path}?limit=3", headers=staff.auth)
        assert first.status_code == 200, first.text
        body = first.json()
        assert body["currency"] == world.currency and body["pool_id"] == pool["id"]
        assert [b["display_name"] for b in body["bets"]] == ["Viewer3", "Viewer2", "Viewer1"]
        assert [(b["outcome_id"], b["amount"]) for b in body["bets"]] == [
            (no, 103),
            (yes, 102),
            (no, 101),
        ]
        assert body["bets"][0]["payout"] is None
        rest = (await client.get(f"{path}?cursor={body['next_cursor']}", headers=staff.auth)).json()
        assert [(b["display_name"], b["amount"]) for b in rest["bets"]] == [("Viewer0", 150)]
        assert rest["next_cursor"] is None
        assert rest["bets"][0]["updated_at"] >= rest["bets"][0]["placed_at"]


async def test_payouts_show_once_the_pool_is_paid(
    client: Client, world: World, run_jobs: RunJobs
) -> None:
    pool = await open_pool(client, world)
    yes, no = (o["id"] for o in pool["outcomes"])
    await bet(client, world.viewers[0], pool["id"], yes, 100, "a")
    await bet(client, world.viewers[1], pool["id"], no, 300, "b")
    await client.post(f"/api/v1/pools/{pool['id']}/lock", headers=world.owner.auth)
    resolved = await client.post(
        f"/api/v1/pools/{pool['id']}/resolve", json={"outcome_id": yes}, headers=world.owner.auth
    )
    assert resolved.status_code == 200, resolved.text
    await run_jobs()
    bets = (await client.get(f"/api/v1/pools/{pool['id']}/bets", headers=world.owner.auth)).json()[
        "bets"
    ]
    assert [(b["display_name"], b["payout"]) for b in bets] == [("Viewer1", 0), ("Viewer0", 400)]


async def test_outsiders_are_refused_and_drafts_stay_hidden(client: Client, world: World) -> None:
    live = await open_pool(client, world)
    draft = await open_pool(client, world, open=False)
    for person in (world.viewers[0], world.stranger):
        refused = await client.get(f"/api/v1/pools/{live['id']}/bets", headers=person.auth)
        assert (refused.status_code, refused.json()["error"]["code"]) == (403, "forbidden")
        hidden = await client.get(f"/api/v1/pools/{draft['id']}/bets", headers=person.auth)
        missing = await client.get("/api/v1/pools/999999999/bets", headers=person.auth)
        assert (hidden.status_code, hidden.json()["error"]["code"]) == (404, "pool_not_found")
        assert hidden.json()["error"]["message"] == missing.json()["error"]["message"]
    assert (await client.get(f"/api/v1/pools/{live['id']}/bets")).status_code == 401
    shown = await client.get(f"/api/v1/pools/{draft['id']}/bets", headers=world.moderator.auth)
    assert (shown.status_code, shown.json()["bets"]) == (200, [])


async def test_a_cursor_not_handed_out_is_refused(client: Client, world: World) -> None:
    pool = await open_pool(client, world)
    for cursor in ["abc", "-1", "0", "99999999999999999999"]:
        response = await client.get(
            f"/api/v1/pools/{pool['id']}/bets?cursor={cursor}", headers=world.owner.auth
        )
        assert response.status_code == 422, cursor
        assert response.json()["error"]["code"] == "validation_error"
