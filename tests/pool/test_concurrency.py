"""Bets under concurrency, over real HTTP to the live server: one outcome per user however
many requests race, a position never past the pool's max stake, and no bet after a cancel
commits; money is conserved in every case."""

import asyncio
from typing import Any

import httpx
from sqlalchemy import text

from app.kit.resources import Resources
from app.kit.uow import unit_of_work
from app.ledger.service import ledger_service
from tests.conftest import RunJobs
from tests.worlds import Person, World, bet, open_pool, points_balance

Client = httpx.AsyncClient

START = 10_000  # every viewer of the world starts with this many points


def _code(response: httpx.Response) -> str:
    body: dict[str, Any] = response.json()
    return str(body["error"]["code"])


async def _positions(resources: Resources, pool_id: int) -> dict[int, list[tuple[int, int]]]:
    """Every position of a pool as stored: user id -> [(outcome id, amount)]."""
    async with unit_of_work(resources) as session:
        rows = await session.execute(
            text("SELECT user_id, outcome_id, amount FROM bets WHERE pool_id = :p"),
            {"p": pool_id},
        )
        positions: dict[int, list[tuple[int, int]]] = {}
        for row in rows:
            positions.setdefault(int(row.user_id), []).append(
                (int(row.outcome_id), int(row.amount))
            )
    return positions


async def _escrow_balance(resources: Resources, pool_id: int) -> int:
    async with unit_of_work(resources) as session:
        escrow = await session.scalar(
            text("SELECT escrow_account_id FROM pools WHERE id = :p"), {"p": pool_id}
        )
        return await ledger_service.balance(session, int(escrow))


async def _attempt(
    client: Client, viewer: Person, pool_id: int, outcome: int, stake: int, key: str
) -> tuple[int, int, httpx.Response]:
    """One bet, tagged with who placed it and on what."""
    return viewer.id, outcome, await bet(client, viewer, pool_id, outcome, stake, key)


async def test_betting_both_outcomes_at_once_keeps_one_outcome_per_user(
    client: Client, world: World, resources: Resources
) -> None:
    stake, pairs, rounds = 25, 5, 2
    staked: dict[int, int] = dict.fromkeys((v.id for v in world.viewers), 0)
    for round_ in range(rounds):
        pool = await open_pool(client, world)
        yes, no = (o["id"] for o in pool["outcomes"])

        # Each viewer fires `pairs` pairs (one on each outcome) all at the same time.
        results = await asyncio.gather(
            *(
                _attempt(client, viewer, pool["id"], outcome, stake, f"both{round_}-{n}-{outcome}")
                for viewer in world.viewers
                for n in range(pairs)
                for outcome in (yes, no)
            )
        )
        stored = await _positions(resources, pool["id"])
        for viewer in world.viewers:
            mine = [(outcome, r) for user, outcome, r in results if user == viewer.id]
            accepted = [outcome for outcome, r in mine if r.status_code == 201]
            refused = [(outcome, r) for outcome, r in mine if r.status_code != 201]
            assert len(set(accepted)) == 1, f"viewer {viewer.id} holds {set(accepted)}"
            chosen = accepted[0]
            for outcome, response in refused:
                assert response.status_code == 409, response.text
                assert _code(response) == "outcome_already_chosen"
                assert outcome != chosen
            # Only the chosen outcome is ever held, and it holds every accepted stake.
            assert stored[viewer.id] == [(chosen, stake * len(accepted))]
            seen = (await client.get(f"/api/v1/pools/{pool['id']}", headers=viewer.auth)).json()[
                "my_position"
            ]
            assert seen == {"outcome_id": chosen, "amount": stake * len(accepted), "payout": None}
            staked[viewer.id] += stake * len(accepted)
        live = (await client.get(f"/api/v1/pools/{pool['id']}")).json()
        assert live["bettors"] == len(world.viewers)
        assert live["total"] == sum(amount for held in stored.values() for _, amount in held)
        assert await _escrow_balance(resources, pool["id"]) == live["total"]

    for viewer in world.viewers:
        balance = await points_balance(client, viewer, world.currency)
        assert balance + staked[viewer.id] == START  # nothing lost, nothing made up


async def test_concurrent_additions_never_take_a_position_past_max_stake(
    client: Client, world: World, resources: Resources
) -> None:
    max_stake, stake, attempts = 1_000, 300, 10
    pool = await open_pool(client, world, min_stake=10, max_stake=max_stake)
    yes, no = (o["id"] for o in pool["outcomes"])

    async def add(n: int, viewer: Person, attempt: int) -> tuple[int, httpx.Response]:
        outcome = yes if n % 2 else no
        key = f"add{attempt}"
        return viewer.id, await bet(client, viewer, pool["id"], outcome, stake, key)

    results = await asyncio.gather(
        *(
            add(n, viewer, attempt)
            for n, viewer in enumerate(world.viewers)
            for attempt in range(attempts)
        )
    )
    # 300 at a time under a cap of 1000: exactly three fit, one after the other.
    fitting = max_stake // stake
    stored = await _positions(resources, pool["id"])
    for viewer in world.viewers:
        mine = [r for user, r in results if user == viewer.id]
        accepted = [r for r in mine if r.status_code == 201]
        refused = [r for r in mine if r.status_code != 201]
        assert sorted(r.json()["position"] for r in accepted) == [
            stake * (k + 1) for k in range(fitting)
        ]
        assert len(refused) == attempts - fitting
        for response in refused:
            assert response.status_code == 422, response.text
            assert _code(response) == "stake_out_of_range"
        held = stored[viewer.id][0][1]
        assert held == stake * fitting <= max_stake
        # Refused additions debited nothing.
        assert await points_balance(client, viewer, world.currency) == START - held
    live = (await client.get(f"/api/v1/pools/{pool['id']}")).json()
    assert live["total"] == len(world.viewers) * stake * fitting
    assert await _escrow_balance(resources, pool["id"]) == live["total"]


async def test_no_bet_is_accepted_after_a_cancel_commits_and_every_stake_comes_back(
    client: Client, world: World, resources: Resources, run_jobs: RunJobs
) -> None:
    pool = await open_pool(client, world)
    yes, no = (o["id"] for o in pool["outcomes"])
    some_accepted = asyncio.Event()
    cancelled = asyncio.Event()
    after_cancel = 3  # each bettor keeps going for this many bets once the cancel answered

    async def keep_betting(viewer: Person, outcome: int, lane: int) -> list[tuple[bool, Any]]:
        results: list[tuple[bool, Any]] = []
        late = 0
        for n in range(400):  # bounded: 400 x 10 stays under the pool's max stake
            sent_after_cancel = cancelled.is_set()
            response = await bet(client, viewer, pool["id"], outcome, 10, f"race{lane}-{n}")
            results.append((sent_after_cancel, response))
            if response.status_code == 201:
                some_accepted.set()
            late += sent_after_cancel
            if late == after_cancel:
                return results
        raise AssertionError("the cancel never answered")

    async def cancel_midway() -> httpx.Response:
        await some_accepted.wait()
        await asyncio.sleep(0.02)
        response = await client.post(f"/api/v1/pools/{pool['id']}/cancel", headers=world.owner.auth)
        cancelled.set()
        return response

    lanes, cancel = await asyncio.gather(
        asyncio.gather(
            *(
                keep_betting(viewer, yes if n % 2 else no, 2 * n + lane)
                for n, viewer in enumerate(world.viewers)
                for lane in range(2)
            )
        ),
        cancel_midway(),
    )
    assert cancel.status_code == 200, cancel.text
    assert cancel.json()["status"] == "cancelled"
    results = [result for lane in lanes for result in lane]
    accepted = [r for _, r in results if r.status_code == 201]
    assert accepted, "no bet was placed before the cancel"
    for sent_after_cancel, response in results:
        if sent_after_cancel or response.status_code != 201:
            assert response.status_code == 409, response.text
            assert _code(response) == "pool_not_open"
    assert sum(late for late, _ in results) == after_cancel * len(lanes)
    # Every accepted bet, and nothing else, is in the pool and in its escrow.
    staked = sum(r.json()["placed"] for r in accepted)
    stored = await _positions(resources, pool["id"])
    assert sum(amount for held in stored.values() for _, amount in held) == staked
    assert await _escrow_balance(resources, pool["id"]) == staked

    await run_jobs()
    assert (await client.get(f"/api/v1/pools/{pool['id']}")).json()["status"] == "refunded"
    for viewer in world.viewers:
        assert await points_balance(client, viewer, world.currency) == START
    assert await _escrow_balance(resources, pool["id"]) == 0


async def _waiting_on_locks(resources: Resources, at_least: int) -> int:
    """How many of this database's connections wait on a lock, polled until there are
    ``at_least`` of them or ten seconds passed."""
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        async with unit_of_work(resources) as session:
            waiting = int(
                await session.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                    )
                )
                or 0
            )
        if waiting >= at_least or asyncio.get_running_loop().time() > deadline:
            return waiting
        await asyncio.sleep(0.02)


async def test_a_bet_under_way_when_a_cancel_arrives_is_refused_or_refunded(
    client: Client, world: World, resources: Resources, run_jobs: RunJobs
) -> None:
    pool = await open_pool(client, world)
    yes = pool["outcomes"][0]["id"]
    viewer = world.viewers[0]
    async with unit_of_work(resources) as session:
        wallet = await ledger_service.wallet(session, viewer.id, world.currency)

    # Hold the viewer's wallet so that the bet stops half-way, after it found the pool open.
    async with unit_of_work(resources) as hold:
        await hold.execute(text("SELECT 1 FROM accounts WHERE id = :w FOR UPDATE"), {"w": wallet})
        placing = asyncio.create_task(bet(client, viewer, pool["id"], yes, 700, "under-way"))
        assert await _waiting_on_locks(resources, 1) >= 1, "the bet never reached the wallet"
        cancelling = asyncio.create_task(
            client.post(f"/api/v1/pools/{pool['id']}/cancel", headers=world.owner.auth)
        )
        await _waiting_on_locks(resources, 2)
        answered_before_the_bet = cancelling.done()
    placed, cancelled = await asyncio.gather(placing, cancelling)

    assert cancelled.status_code == 200, cancelled.text
    if answered_before_the_bet:
        # The cancel committed while the bet was still under way: the bet must be refused.
        assert placed.status_code == 409, "a bet was accepted after the cancel committed"
        assert _code(placed) == "pool_not_open"
    else:
        # The cancel waited for the bet, which got in first and is refunded below.
        assert placed.status_code == 201, placed.text
    late = await bet(client, viewer, pool["id"], yes, 10, "after")
    assert late.status_code == 409
    assert _code(late) == "pool_not_open"
    held = 700 if placed.status_code == 201 else 0
    assert await points_balance(client, viewer, world.currency) == START - held

    await run_jobs()
    assert (await client.get(f"/api/v1/pools/{pool['id']}")).json()["status"] == "refunded"
    assert await points_balance(client, viewer, world.currency) == START
    assert await _escrow_balance(resources, pool["id"]) == 0
