"""Bets placed together share one transaction: a refused one is rolled back alone, and a batch
answers every bet as a bet of its own would be answered."""

import asyncio
import hashlib
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from app.kit.resources import Resources
from app.kit.rooms import user_room
from app.kit.uow import read_session, unit_of_work
from app.pool.betting import pool_betting
from app.pool.errors import StakeOutOfRange
from app.pool.repository import BetRequest, pool_repository
from app.pool.schemas import BetCreate, BetPlaced
from tests.worlds import World, open_pool


def _request(user_id: int, key: str, pool_id: int, outcome_id: int, amount: int) -> BetRequest:
    digest = hashlib.sha256(f"{pool_id}:{outcome_id}:{amount}".encode()).digest()
    return BetRequest(user_id, key, digest, pool_id, outcome_id, amount)


async def test_a_refused_bet_in_a_batch_is_rolled_back_alone(
    client: httpx.AsyncClient, world: World, resources: Resources
) -> None:
    pool = await open_pool(client, world)
    yes, no = (o["id"] for o in pool["outcomes"])
    first, second, third = (viewer.id for viewer in world.viewers[:3])
    batch = [
        _request(first, "a", pool["id"], yes, 100),
        _request(second, "b", pool["id"], no, 20_000),  # more than max_stake
        _request(third, "c", pool["id"], yes, 300),
        _request(first, "a", pool["id"], yes, 100),  # the same bet again: replayed
        _request(first, "d", pool["id"], no, 50),  # the other side: refused
    ]
    async with unit_of_work(resources) as session:
        answers = await pool_repository.place_bets(session, batch)
    assert [a.status for a in answers] == [
        "placed",
        "stake_out_of_range",
        "placed",
        "replayed",
        "outcome_already_chosen",
    ]
    assert (answers[0].position, answers[0].balance) == (100, 9_900)
    assert answers[3].bet_id == answers[0].bet_id
    async with unit_of_work(resources) as session:
        rows = await session.execute(
            text("SELECT user_id, amount FROM bets WHERE pool_id = :p"), {"p": pool["id"]}
        )
        positions = {int(row.user_id): int(row.amount) for row in rows}
        placements = await session.scalar(text("SELECT count(*) FROM bet_placements"))
    assert positions == {first: 100, third: 300}
    assert placements == 2


async def test_concurrent_bets_are_answered_each_as_if_alone(
    client: httpx.AsyncClient, world: World
) -> None:
    pool = await open_pool(client, world, min_stake=1)
    yes = pool["outcomes"][0]["id"]

    async def bet(n: int) -> httpx.Response:
        viewer = world.viewers[n % len(world.viewers)]
        return await client.post(
            f"/api/v1/pools/{pool['id']}/bets",
            json={"outcome_id": yes, "amount": 1},
            headers={**viewer.auth, "Idempotency-Key": f"burst-{n}"},
        )

    answers = await asyncio.gather(*(bet(n) for n in range(40)))
    assert [a.status_code for a in answers] == [201] * 40
    final = (await client.get(f"/api/v1/pools/{pool['id']}")).json()
    assert final["total"] == 40
    for viewer in world.viewers:  # 10 bets of 1 each
        wallets = (await client.get("/api/v1/me/wallets", headers=viewer.auth)).json()
        assert wallets["wallets"][0]["balance"] == 10_000 - 10


async def test_a_batch_tells_each_placed_bet_its_balance_once_committed(
    client: httpx.AsyncClient,
    world: World,
    resources: Resources,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pool = await open_pool(client, world)
    yes, no = (o["id"] for o in pool["outcomes"])
    first, second = world.viewers[:2]
    sent: list[tuple[str, str, Any, int]] = []

    async def emit(event: str, data: Any, room: str) -> None:
        async with read_session(resources) as session:  # what others see by now
            committed = await session.scalar(
                text("SELECT count(*) FROM bets WHERE pool_id = :p"), {"p": pool["id"]}
            )
        sent.append((event, room, data, int(committed or 0)))

    monkeypatch.setattr(resources.emitter, "emit", emit)
    placed, refused = await asyncio.gather(
        pool_betting.bet(
            resources, first.id, pool["id"], BetCreate(outcome_id=yes, amount=100), "a"
        ),
        pool_betting.bet(
            resources, second.id, pool["id"], BetCreate(outcome_id=no, amount=20_000), "b"
        ),
        return_exceptions=True,
    )
    assert isinstance(placed, BetPlaced) and placed.balance == 9_900
    assert isinstance(refused, StakeOutOfRange)
    # Only the placed bet's owner hears of it, and only once its batch committed.
    assert [(event, room, committed) for event, room, _, committed in sent] == [
        ("wallet:updated", user_room(first.id), 1)
    ]
    assert sent[0][2].balance == 9_900


async def test_a_bettors_events_follow_the_order_of_their_bets_across_batches(
    client: httpx.AsyncClient,
    world: World,
    resources: Resources,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Many bets at once span several batches and every lane, and each batch's effects go out
    while the next is written: still, each bettor hears their balances in the order placed."""
    pool = await open_pool(client, world, min_stake=1)
    yes = pool["outcomes"][0]["id"]
    heard: dict[str, list[int]] = {}
    slowed: set[str] = set()

    async def emit(event: str, data: Any, room: str) -> None:
        if room not in slowed:  # a slow first event: the later ones must wait for it
            slowed.add(room)
            await asyncio.sleep(0.05)
        if event == "wallet:updated":
            heard.setdefault(room, []).append(data.balance)

    monkeypatch.setattr(resources.emitter, "emit", emit)
    bettors = world.viewers[:4]
    answers = await asyncio.gather(
        *(
            pool_betting.bet(
                resources, viewer.id, pool["id"], BetCreate(outcome_id=yes, amount=1), f"o-{n}"
            )
            for n in range(60)
            for viewer in bettors
        )
    )
    assert len(answers) == 240
    for viewer in bettors:
        assert heard[user_room(viewer.id)] == list(range(10_000 - 1, 10_000 - 61, -1))
