"""The pool lifecycle over the API: create, bet, lock, resolve, settle; cancel and refund;
each transition once; permissions; bad input."""

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from app.kit.resources import Resources
from app.kit.uow import unit_of_work
from tests.conftest import RunJobs
from tests.worlds import World, bet, open_pool, points_balance, pool_body

Client = httpx.AsyncClient


async def _post(
    client: Client, path: str, auth: dict[str, str], body: Any = None
) -> httpx.Response:
    return await client.post(path, json=body, headers=auth)


async def test_a_pool_from_bets_to_payouts(client: Client, world: World, run_jobs: RunJobs) -> None:
    pool = await open_pool(client, world)
    assert pool["status"] == "open"
    assert pool["closes_at"] is not None
    yes, no = (o["id"] for o in pool["outcomes"])
    a, b, c, _ = world.viewers
    assert (await bet(client, a, pool["id"], yes, 300, "a1")).status_code == 201
    added = await bet(client, a, pool["id"], yes, 200, "a2")
    assert added.json()["position"] == 500
    assert added.json()["balance"] == 9_500
    assert (await bet(client, b, pool["id"], yes, 250, "b1")).status_code == 201
    assert (await bet(client, c, pool["id"], no, 1_000, "c1")).status_code == 201

    live = (await client.get(f"/api/v1/pools/{pool['id']}", headers=a.auth)).json()
    assert live["total"] == 1_750
    assert live["bettors"] == 3
    assert [o["total"] for o in live["outcomes"]] == [750, 1_000]
    assert [o["multiplier_bps"] for o in live["outcomes"]] == [23_333, 17_500]
    assert live["my_position"] == {"outcome_id": yes, "amount": 500, "payout": None}

    assert (
        await _post(client, f"/api/v1/pools/{pool['id']}/lock", world.owner.auth)
    ).status_code == 200
    late = await bet(client, b, pool["id"], yes, 100, "b2")
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "pool_not_open"
    resolved = await _post(
        client, f"/api/v1/pools/{pool['id']}/resolve", world.owner.auth, {"outcome_id": yes}
    )
    assert resolved.json()["status"] == "resolved"
    await run_jobs()

    settled = (await client.get(f"/api/v1/pools/{pool['id']}", headers=a.auth)).json()
    assert settled["status"] == "settled"
    # Points: no rake. 1750 split over 750 on "yes": a gets 1166.67 -> 1167, b 583.33 -> 583.
    assert settled["my_position"]["payout"] == 1_167
    lost = (await client.get(f"/api/v1/pools/{pool['id']}", headers=c.auth)).json()
    assert lost["my_position"]["payout"] == 0
    assert await points_balance(client, a, world.currency) == 9_500 + 1_167
    assert await points_balance(client, b, world.currency) == 9_750 + 583
    assert await points_balance(client, c, world.currency) == 9_000
    entries = (
        await client.get(f"/api/v1/me/wallets/{world.currency}/entries", headers=a.auth)
    ).json()
    assert [e["reason"] for e in entries["entries"]][:3] == ["payout", "bet", "bet"]

    board = (
        await client.get(
            f"/api/v1/channels/{world.channel_id}/leaderboard",
            params={"currency": world.currency, "period": "7d"},
        )
    ).json()
    assert [(r["user_id"], r["net"], r["wins"]) for r in board["rows"]] == [
        (a.id, 667, 1),
        (b.id, 333, 1),
        (c.id, -1_000, 0),
    ]


async def test_cancel_refunds_every_stake_exactly(
    client: Client, world: World, run_jobs: RunJobs
) -> None:
    pool = await open_pool(client, world)
    yes, no = (o["id"] for o in pool["outcomes"])
    for n, viewer in enumerate(world.viewers):
        await bet(client, viewer, pool["id"], yes if n % 2 else no, 123 * (n + 1), f"k{n}")
    cancelled = await _post(client, f"/api/v1/pools/{pool['id']}/cancel", world.moderator.auth)
    assert cancelled.json()["status"] == "cancelled"
    await run_jobs()
    assert (await client.get(f"/api/v1/pools/{pool['id']}")).json()["status"] == "refunded"
    for viewer in world.viewers:
        assert await points_balance(client, viewer, world.currency) == 10_000


@pytest.mark.parametrize("winner_side", ["nobody", "everybody"])
async def test_no_winners_or_no_losers_refunds_everyone(
    client: Client, world: World, run_jobs: RunJobs, winner_side: str
) -> None:
    pool = await open_pool(client, world, outcomes=["A", "B", "C"])
    a_id, _, c_id = (o["id"] for o in pool["outcomes"])
    for n, viewer in enumerate(world.viewers[:3]):
        await bet(client, viewer, pool["id"], a_id, 100 + n, f"k{n}")
    await _post(client, f"/api/v1/pools/{pool['id']}/lock", world.owner.auth)
    winner = c_id if winner_side == "nobody" else a_id
    await _post(
        client, f"/api/v1/pools/{pool['id']}/resolve", world.owner.auth, {"outcome_id": winner}
    )
    await run_jobs()
    for viewer in world.viewers[:3]:
        assert await points_balance(client, viewer, world.currency) == 10_000


async def test_each_transition_happens_once(client: Client, world: World) -> None:
    pool = await open_pool(client, world)
    yes = pool["outcomes"][0]["id"]
    path = f"/api/v1/pools/{pool['id']}"
    early = await _post(client, f"{path}/resolve", world.owner.auth, {"outcome_id": yes})
    assert early.status_code == 409
    assert early.json()["error"]["code"] == "invalid_pool_transition"
    await _post(client, f"{path}/lock", world.owner.auth)
    again = await _post(client, f"{path}/lock", world.owner.auth)
    assert again.status_code == 409
    results = await asyncio.gather(
        *(_post(client, f"{path}/resolve", world.owner.auth, {"outcome_id": yes}) for _ in range(6))
    )
    assert sorted(r.status_code for r in results) == [200, 409, 409, 409, 409, 409]
    transitions = (await client.get(path)).json()
    assert transitions["status"] == "resolved"


async def test_drafts_open_later_and_templates_open_in_one_call(
    client: Client, world: World
) -> None:
    draft = await open_pool(client, world, open=False)
    assert draft["status"] == "draft"
    yes = draft["outcomes"][0]["id"]
    refused = await bet(client, world.viewers[0], draft["id"], yes, 50, "d1")
    assert refused.json()["error"]["code"] == "pool_not_found"  # a draft is not public
    opened = await _post(client, f"/api/v1/pools/{draft['id']}/open", world.owner.auth)
    assert opened.json()["status"] == "open"
    assert (await bet(client, world.viewers[0], draft["id"], yes, 50, "d2")).status_code == 201

    template = await _post(
        client,
        f"/api/v1/channels/{world.channel_id}/templates",
        world.owner.auth,
        {
            "name": "boss",
            "title": "Boss first try?",
            "outcomes": ["Yes", "No"],
            "window_seconds": 120,
        },
    )
    assert template.status_code == 201, template.text
    from_template = await _post(
        client,
        f"/api/v1/channels/{world.channel_id}/templates/{template.json()['id']}/open",
        world.moderator.auth,
    )
    assert from_template.status_code == 201
    assert from_template.json()["title"] == "Boss first try?"
    assert from_template.json()["status"] == "open"
    listed = await client.get(f"/api/v1/channels/{world.channel_id}/pools?status=open")
    assert len(listed.json()["pools"]) == 2


async def test_bets_are_idempotent_and_keep_to_one_outcome_and_the_limits(
    client: Client, world: World
) -> None:
    pool = await open_pool(client, world)
    yes, no = (o["id"] for o in pool["outcomes"])
    viewer = world.viewers[0]
    first = await bet(client, viewer, pool["id"], yes, 100, "same")
    replay = await bet(client, viewer, pool["id"], yes, 100, "same")
    assert replay.status_code == 201
    assert replay.json() == first.json()
    other_body = await bet(client, viewer, pool["id"], yes, 101, "same")
    assert other_body.status_code == 409
    assert other_body.json()["error"]["code"] == "idempotency_key_reused"

    switch = await bet(client, viewer, pool["id"], no, 100, "switch")
    assert switch.status_code == 409
    assert switch.json()["error"]["code"] == "outcome_already_chosen"
    too_small = await bet(client, world.viewers[1], pool["id"], yes, 5, "small")
    assert too_small.json()["error"]["code"] == "stake_out_of_range"
    too_big = await bet(client, viewer, pool["id"], yes, 4_901, "big")
    assert too_big.json()["error"]["code"] == "stake_out_of_range"
    broke = await bet(client, world.owner, pool["id"], yes, 100, "broke")
    assert broke.json()["error"]["code"] == "insufficient_funds"
    wrong_outcome = await bet(client, viewer, pool["id"], 999_999, 100, "nope")
    assert wrong_outcome.status_code == 422
    assert (await points_balance(client, viewer, world.currency)) == 9_900
    no_key = await client.post(
        f"/api/v1/pools/{pool['id']}/bets",
        json={"outcome_id": yes, "amount": 10},
        headers=viewer.auth,
    )
    assert no_key.json()["error"]["code"] == "idempotency_key_required"


async def test_a_thousand_retries_of_one_bet_place_it_once(client: Client, world: World) -> None:
    pool = await open_pool(client, world)
    yes = pool["outcomes"][0]["id"]
    viewer = world.viewers[0]
    responses = await asyncio.gather(
        *(bet(client, viewer, pool["id"], yes, 100, "retry") for _ in range(100))
    )
    assert {r.status_code for r in responses} == {201}
    assert {r.json()["position"] for r in responses} == {100}
    assert await points_balance(client, viewer, world.currency) == 9_900


@pytest.mark.parametrize(
    ("amount", "status"),
    [(0, 422), (-5, 422), (10.5, 422), ("100", 422), (10**13, 422), (True, 422)],
)
async def test_bad_stakes_are_refused(
    client: Client, world: World, amount: Any, status: int
) -> None:
    pool = await open_pool(client, world)
    yes = pool["outcomes"][0]["id"]
    response = await bet(client, world.viewers[0], pool["id"], yes, amount, "bad")
    assert response.status_code == status, response.text
    assert await points_balance(client, world.viewers[0], world.currency) == 10_000


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"outcomes": ["Only"]}, "outcomes"),
        ({"outcomes": [f"o{n}" for n in range(11)]}, "outcomes"),
        ({"outcomes": ["Yes", "yes "]}, "outcomes"),
        ({"outcomes": ["Yes", ""]}, "outcomes"),
        ({"outcomes": ["Yes", "x" * 51]}, "outcomes"),
        ({"title": ""}, "title"),
        ({"title": "x" * 121}, "title"),
        ({"min_stake": 0}, "min_stake"),
        ({"max_stake": 5, "min_stake": 10}, "max_stake"),
        ({"window_seconds": 9}, "window_seconds"),
        ({"window_seconds": 86_401}, "window_seconds"),
        ({"window_seconds": None}, "window_seconds"),
        ({"window_seconds": None, "closes_at": "2020-01-01T00:00:00Z"}, "closes_at"),
        ({"rake_bps": 100}, "rake_bps"),
        ({"surprise": 1}, "surprise"),
    ],
)
async def test_bad_pools_are_422_naming_the_field_and_create_nothing(
    client: Client, world: World, resources: Resources, overrides: dict[str, Any], field: str
) -> None:
    response = await client.post(
        "/api/v1/pools", json=pool_body(world, **overrides), headers=world.owner.auth
    )
    assert response.status_code == 422, response.text
    assert field in response.json()["error"]["message"]
    async with unit_of_work(resources) as session:
        assert await session.scalar(text("SELECT count(*) FROM pools")) == 0
        assert await session.scalar(text("SELECT count(*) FROM pool_outcomes")) == 0


async def test_cash_pools_need_a_cash_channel(client: Client, world: World) -> None:
    response = await client.post(
        "/api/v1/pools", json=pool_body(world, currency="cash"), headers=world.owner.auth
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "cash_not_enabled"


async def test_who_may_do_what(client: Client, world: World, run_jobs: RunJobs) -> None:
    viewer, stranger, moderator = world.viewers[0], world.stranger, world.moderator
    for person in (viewer, stranger):
        refused = await client.post("/api/v1/pools", json=pool_body(world), headers=person.auth)
        assert refused.status_code == 403
    assert (await client.post("/api/v1/pools", json=pool_body(world))).status_code == 401
    pool = await open_pool(client, world)
    yes = pool["outcomes"][0]["id"]
    path = f"/api/v1/pools/{pool['id']}"
    for person in (viewer, stranger):
        for action in ("lock", "cancel"):
            response = await _post(client, f"{path}/{action}", person.auth)
            assert response.status_code == 403, (action, response.text)
    await bet(client, moderator, pool["id"], yes, 100, "mod")
    assert (await _post(client, f"{path}/lock", moderator.auth)).status_code == 200
    conflicted = await _post(client, f"{path}/resolve", moderator.auth, {"outcome_id": yes})
    assert conflicted.status_code == 403
    assert conflicted.json()["error"]["code"] == "conflict_of_interest"
    for person in (viewer, stranger):
        response = await _post(client, f"{path}/resolve", person.auth, {"outcome_id": yes})
        assert response.status_code == 403
    assert (
        await _post(client, f"{path}/resolve", world.owner.auth, {"outcome_id": yes})
    ).status_code == 200
    await run_jobs()
    templates = await client.get(
        f"/api/v1/channels/{world.channel_id}/templates", headers=viewer.auth
    )
    assert templates.status_code == 403
    missing = await client.get("/api/v1/pools/999999")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "pool_not_found"
