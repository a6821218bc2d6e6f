"""Bets placed together share one transaction: a refused one is rolled back alone, and a batch
answers every bet as a bet of its own would be answered."""

import asyncio
import hashlib
import random
from collections import Counter
from collections.abc import Sequence
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from app.kit.emitter import Event
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

    async def emit_many(events: Sequence[Event]) -> None:
        async with read_session(resources) as session:  # what others see by now
            committed = await session.scalar(
                text("SELECT count(*) FROM bets WHERE pool_id = :p"), {"p": pool["id"]}
            )
        sent.extend((event, room, data, int(committed or 0)) for event, data, room in events)

    monkeypatch.setattr(resources.emitter, "emit_many", emit_many)
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
    """Many bets at once span several batches and every lane, and each batch is announced
    while the next is written: still, each bettor hears their balances in the order placed."""
    pool = await open_pool(client, world, min_stake=1)
    yes = pool["outcomes"][0]["id"]
    heard: dict[str, list[int]] = {}
    slowed: set[str] = set()

    async def emit_many(events: Sequence[Event]) -> None:
        for event, data, room in events:
            if room not in slowed:  # a slow first event: the later ones must wait for it
                slowed.add(room)
                await asyncio.sleep(0.05)
            if event == "wallet:updated":
                heard.setdefault(room, []).append(data.balance)

    monkeypatch.setattr(resources.emitter, "emit_many", emit_many)
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


# -- a batch answers and writes exactly as its bets placed one by one -------------------------

_SNAPSHOT = (
    "SELECT 'wallet', a.id, a.balance, a.frozen::int, NULL::bigint FROM accounts a"
    " WHERE a.kind = 'user_wallet'"
    " UNION ALL SELECT 'position', b.pool_id, b.user_id, b.outcome_id, b.amount FROM bets b"
    " UNION ALL SELECT 'placement:' || bp.idempotency_key, bp.user_id, bp.pool_id,"
    "  bp.amount, bp.position_amount * 1000000 + bp.balance_after FROM bet_placements bp"
    " UNION ALL SELECT 'entries', e.account_id, sum(e.amount), count(*), NULL FROM ledger_entries e"
    "  GROUP BY e.account_id"
    " UNION ALL SELECT 'bet transactions', count(*), NULL, NULL, NULL FROM ledger_transactions t"
    "  WHERE t.kind = 'bet'"
)


async def _answers_and_state(
    resources: Resources, batch: list[BetRequest], one_by_one: bool, commit: bool = False
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """What placing ``batch`` answers (bet ids as their pool and user) and leaves behind."""
    async with resources.engine.connect() as connection:
        transaction = await connection.begin()
        if one_by_one:
            rows = [
                (
                    await connection.execute(
                        text("SELECT * FROM place_bet(:u, :k, :f, :p, :o, :a, false)"),
                        {
                            "u": b.user_id,
                            "k": b.idempotency_key,
                            "f": b.digest,
                            "p": b.pool_id,
                            "o": b.outcome_id,
                            "a": b.amount,
                        },
                    )
                ).one()
                for b in batch
            ]
        else:
            rows = list(
                await connection.execute(
                    text(
                        "SELECT status, bet_id, outcome_id, new_position, balance, currency,"
                        " pool_status, min_stake, max_stake FROM place_bets(CAST(:u AS bigint[]),"
                        " CAST(:k AS text[]), CAST(:f AS bytea[]), CAST(:p AS bigint[]),"
                        " CAST(:o AS bigint[]), CAST(:a AS bigint[])) ORDER BY idx"
                    ),
                    {
                        "u": [b.user_id for b in batch],
                        "k": [b.idempotency_key for b in batch],
                        "f": [b.digest for b in batch],
                        "p": [b.pool_id for b in batch],
                        "o": [b.outcome_id for b in batch],
                        "a": [b.amount for b in batch],
                    },
                )
            )
        bets = {
            int(row.id): (int(row.pool_id), int(row.user_id))
            for row in await connection.execute(text("SELECT id, pool_id, user_id FROM bets"))
        }
        answers = [
            (row[0], bets.get(row[1]) if row[1] is not None else None, *row[2:]) for row in rows
        ]
        state = sorted(
            (tuple(row) for row in await connection.execute(text(_SNAPSHOT))),
            key=repr,
        )
        if commit:
            await transaction.commit()
        else:
            await transaction.rollback()
    return answers, state


async def test_a_batch_answers_and_writes_exactly_as_its_bets_placed_one_by_one(
    client: httpx.AsyncClient, world: World, resources: Resources
) -> None:
    """Random batches mixing every answer (placed, replayed within the batch and from before,
    the same key with another body, a closed, missing or unknown pool or outcome, the other
    side, out of limits, a frozen wallet, funds running out within the batch): the set-based
    batch gives each bet the answer, and leaves the balances, positions, placements and
    ledger, that placing its bets one after another gives."""
    small = await open_pool(client, world, min_stake=10, max_stake=5_000)
    large = await open_pool(client, world, min_stake=1, max_stake=20_000)
    closed = await open_pool(client, world)
    locked = await client.post(f"/api/v1/pools/{closed['id']}/lock", headers=world.owner.auth)
    assert locked.status_code == 200
    frozen = world.viewers[3]
    async with unit_of_work(resources) as session:
        await session.execute(
            text("UPDATE accounts SET frozen = true WHERE kind = 'user_wallet' AND user_id = :u"),
            {"u": frozen.id},
        )
    pools = [small, large, closed]
    outcomes = [o["id"] for pool in pools for o in pool["outcomes"]]
    users = [world.moderator.id, *(viewer.id for viewer in world.viewers)]
    rng = random.Random(20261213)
    kinds: Counter[str] = Counter()
    for round_ in range(25):
        batch = []
        for _ in range(rng.randint(2, 24)):
            pool = rng.choice(pools)
            pool_id = pool["id"] if rng.random() > 0.05 else 987_654_321
            own = [o["id"] for o in pool["outcomes"]]
            outcome = rng.choice(own) if rng.random() > 0.1 else rng.choice(outcomes)
            amount = rng.choice([1, 5, 10, 10, 100, 100, 2_500, 3_000, 5_001, 9_000])
            key = f"k{rng.randint(0, 30)}"  # reused across and within batches
            batch.append(_request(rng.choice(users), key, pool_id, outcome, amount))
        together = await _answers_and_state(resources, batch, one_by_one=False)
        alone = await _answers_and_state(resources, batch, one_by_one=True)
        assert together == alone, f"round {round_}"
        kinds.update(answer[0] for answer in together[0])
        await _answers_and_state(resources, batch, one_by_one=False, commit=True)
    # The batches went through every answer a points bet can get.
    assert set(kinds) == {
        "placed",
        "replayed",
        "idempotency_key_reused",
        "pool_not_found",
        "pool_not_open",
        "unknown_outcome",
        "outcome_already_chosen",
        "stake_out_of_range",
        "wallet_frozen",
        "insufficient_funds",
    }, kinds


async def test_concurrent_batches_with_one_key_apply_it_once(
    client: httpx.AsyncClient, world: World, resources: Resources
) -> None:
    """Two batches in two transactions carry the same bet (user and key): the second waits for
    the first's wallet lock, then answers it as a replay; the stake moves once."""
    pool = await open_pool(client, world)
    yes, no = (o["id"] for o in pool["outcomes"])
    first, second, third = (viewer.id for viewer in world.viewers[:3])
    shared = _request(first, "same", pool["id"], yes, 100)

    async def place(batch: list[BetRequest]) -> list[Any]:
        async with unit_of_work(resources) as session:
            return await pool_repository.place_bets(session, batch)

    one, other = await asyncio.gather(
        place([shared, _request(second, "x", pool["id"], no, 50)]),
        place([_request(third, "y", pool["id"], yes, 70), shared]),
    )
    statuses = sorted([one[0].status, other[1].status])
    assert statuses == ["placed", "replayed"]
    assert one[0].bet_id == other[1].bet_id
    assert (one[0].balance, other[1].balance) == (9_900, 9_900)
    assert [one[1].status, other[0].status] == ["placed", "placed"]
    async with read_session(resources) as session:
        stake = await session.scalar(
            text("SELECT amount FROM bets WHERE pool_id = :p AND user_id = :u"),
            {"p": pool["id"], "u": first},
        )
        debits = await session.scalar(
            text(
                "SELECT count(*) FROM ledger_entries e JOIN accounts a ON a.id = e.account_id"
                " WHERE a.kind = 'user_wallet' AND a.user_id = :u AND e.amount < 0"
            ),
            {"u": first},
        )
    assert stake == 100
    assert debits == 1


async def test_the_same_key_sent_many_times_at_once_is_placed_once(
    client: httpx.AsyncClient, world: World, resources: Resources
) -> None:
    """Through the intake (the copies share a batch, or follow each other): one placement,
    every copy answered with it."""
    pool = await open_pool(client, world)
    yes = pool["outcomes"][0]["id"]
    viewer = world.viewers[0]
    answers = await asyncio.gather(
        *(
            pool_betting.bet(
                resources, viewer.id, pool["id"], BetCreate(outcome_id=yes, amount=100), "once"
            )
            for _ in range(12)
        )
    )
    assert {(a.bet_id, a.position, a.balance) for a in answers} == {(answers[0].bet_id, 100, 9_900)}
