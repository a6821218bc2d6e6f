"""The one way to post: transfers, staged (set-based) postings and bets share one fingerprint,
replay on the same key and body, and refuse the same key with another body."""

from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.resources import Resources
from app.kit.uow import unit_of_work
from app.ledger.errors import IdempotencyKeyReused, UnbalancedTransaction
from app.ledger.service import ledger_service
from app.models.ledger import AccountKind, TransactionKind
from app.pool.repository import STAGING_TABLE
from app.pool.settlement import pool_settlement
from app.settings import Settings
from tests.factories import create_user, fund_wallet
from tests.worlds import World, bet, open_pool, world  # noqa: F401

USD = "cash:USD"


async def _wallet_and_house(resources: Resources, settings: Settings) -> tuple[int, int]:
    async with unit_of_work(resources) as session:
        user = await create_user(session, settings)
        wallet = await fund_wallet(session, user.id, 1_000)
        house = await ledger_service.system_account(session, AccountKind.house, USD)
    return wallet, house


async def _balance(resources: Resources, account: int) -> int:
    async with unit_of_work(resources) as session:
        return await ledger_service.balance(session, account)


async def test_a_transfer_moves_money_once_and_refuses_its_key_for_another_transfer(
    resources: Resources, settings: Settings
) -> None:
    wallet, house = await _wallet_and_house(resources, settings)

    async def transfer(amount: int, memo: dict[str, Any]) -> tuple[int, bool]:
        async with unit_of_work(resources) as session:
            posted = await ledger_service.transfer(
                session, wallet, house, amount, USD, key="t:1", kind=TransactionKind.rake, memo=memo
            )
        return posted.id, posted.replayed

    first_id, first_replayed = await transfer(300, {"pool_id": 1})
    again_id, again_replayed = await transfer(300, {"pool_id": 1})

    assert (first_replayed, again_replayed) == (False, True)
    assert again_id == first_id
    assert await _balance(resources, wallet) == 700
    assert await _balance(resources, house) == 300
    for amount, memo in ((301, {"pool_id": 1}), (300, {"pool_id": 2})):
        with pytest.raises(IdempotencyKeyReused):
            await transfer(amount, memo)
    assert await _balance(resources, wallet) == 700


@pytest.mark.parametrize("amount", [0, -5])
async def test_a_transfer_moves_a_positive_amount(
    resources: Resources, settings: Settings, amount: int
) -> None:
    wallet, house = await _wallet_and_house(resources, settings)
    async with unit_of_work(resources) as session:
        with pytest.raises(UnbalancedTransaction):
            await ledger_service.transfer(
                session, wallet, house, amount, USD, key="t:0", kind=TransactionKind.rake
            )


async def _post_staged(resources: Resources, source: int, rows: list[tuple[int, int, int]]) -> int:
    """Stage (ref_id, account_id, amount) rows as settlement does, then post them."""
    async with unit_of_work(resources) as session:
        await session.execute(text(STAGING_TABLE))
        for ref_id, account_id, amount in rows:
            await session.execute(
                text("INSERT INTO payouts (ref_id, account_id, amount) VALUES (:r, :a, :n)"),
                {"r": ref_id, "a": account_id, "n": amount},
            )
        return await ledger_service.post_staged(
            session,
            key_prefix="pool:7:payout",
            kind=TransactionKind.payout,
            source_account=source,
            currency=USD,
            memo={"pool_id": 7},
            ref_name="bet_id",
        )


async def test_staged_postings_replay_by_key_and_refuse_a_key_for_another_transfer(
    resources: Resources, settings: Settings
) -> None:
    wallet, house = await _wallet_and_house(resources, settings)
    other, _ = await _wallet_and_house(resources, settings)

    assert await _post_staged(resources, house, [(1, wallet, 100), (2, other, 50)]) == 2
    # A retry posts only what is new; the rows posted before are recognised, not doubled.
    assert await _post_staged(resources, house, [(1, wallet, 100), (2, other, 50)]) == 0
    assert await _post_staged(resources, house, [(1, wallet, 100), (3, other, 5)]) == 1
    assert await _balance(resources, wallet) == 1_100
    assert await _balance(resources, other) == 1_055

    with pytest.raises(IdempotencyKeyReused):
        await _post_staged(resources, house, [(1, wallet, 101)])
    with pytest.raises(IdempotencyKeyReused):
        await _post_staged(resources, house, [(4, wallet, 10), (2, wallet, 50)])
    assert await _balance(resources, wallet) == 1_100
    async with unit_of_work(resources) as session:
        assert await ledger_service.check(session) == []


async def _fingerprints(session: AsyncSession) -> list[tuple[bytes, bytes]]:
    """Each transaction's stored fingerprint beside the one its entries and memo give."""
    result = await session.execute(
        text(
            "SELECT t.fingerprint, ledger_fingerprint(t.kind, t.memo, e.postings)"
            " FROM ledger_transactions t JOIN (SELECT transaction_id,"
            " ledger_postings_text(array_agg(account_id), array_agg(currency),"
            " array_agg(amount)) AS postings FROM ledger_entries GROUP BY transaction_id) e"
            " ON e.transaction_id = t.id ORDER BY t.id"
        )
    )
    return [(bytes(row[0]), bytes(row[1])) for row in result]


async def test_every_writer_stores_the_one_fingerprint(
    client: httpx.AsyncClient,
    resources: Resources,
    world: World,  # noqa: F811
) -> None:
    pool = await open_pool(client, world)
    yes, no = (o["id"] for o in pool["outcomes"])
    for viewer, outcome in zip(world.viewers, (yes, no, no, yes), strict=True):
        assert (await bet(client, viewer, pool["id"], outcome, 100, "k")).status_code == 201
    reused = await bet(client, world.viewers[0], pool["id"], yes, 101, "k")
    assert reused.json()["error"]["code"] == "idempotency_key_reused"
    await client.post(f"/api/v1/pools/{pool['id']}/lock", headers=world.owner.auth)
    await client.post(
        f"/api/v1/pools/{pool['id']}/resolve", json={"outcome_id": yes}, headers=world.owner.auth
    )
    async with unit_of_work(resources) as session:
        assert await pool_settlement.settle(session, resources, pool["id"])
    async with unit_of_work(resources) as session:
        kinds = set(
            (await session.execute(text("SELECT DISTINCT kind::text FROM ledger_transactions")))
            .scalars()
            .all()
        )
        pairs = await _fingerprints(session)
    assert {"bet", "deposit", "payout"} <= kinds
    assert pairs and all(stored == computed for stored, computed in pairs)


async def test_a_transfer_is_canonicalised_as_any_set_of_postings(resources: Resources) -> None:
    cases = [(1, 2, 5), (2, 1, 5), (3, 3, 7), (10, 9, 1), (9, 10, 2**62)]
    async with unit_of_work(resources) as session:
        for source, target, amount in cases:
            general, transfer = (
                await session.execute(
                    text(
                        "SELECT ledger_postings_text(ARRAY[CAST(:s AS bigint), :t],"
                        " ARRAY['cash:USD', 'cash:USD'], ARRAY[-CAST(:n AS bigint), :n]),"
                        " ledger_transfer_postings_text(:s, :t, 'cash:USD', :n)"
                    ),
                    {"s": source, "t": target, "n": amount},
                )
            ).one()
            assert general == transfer, (source, target, amount)
