"""The ledger's rules: balanced, idempotent, never negative — under concurrency too."""

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.resources import Resources
from app.kit.uow import unit_of_work
from app.ledger.errors import (
    IdempotencyKeyReused,
    InsufficientFunds,
    UnbalancedTransaction,
    WalletFrozen,
)
from app.ledger.repository import Posting, ledger_repository
from app.ledger.service import PostedTransaction, ledger_service
from app.models.ledger import AccountKind, TransactionKind
from app.settings import Settings
from tests.factories import create_user, fund_wallet

USD = "cash:USD"


async def _user_with_wallet(
    resources: Resources, settings: Settings, amount: int
) -> tuple[int, int]:
    async with unit_of_work(resources) as session:
        user = await create_user(session, settings)
        wallet = await fund_wallet(session, user.id, amount)
    return user.id, wallet


async def _house(resources: Resources) -> int:
    async with unit_of_work(resources) as session:
        return await ledger_service.system_account(session, AccountKind.house, USD)


async def _debit(
    resources: Resources, wallet: int, house: int, amount: int, key: str
) -> PostedTransaction:
    async with unit_of_work(resources) as session:
        return await ledger_service.post_transaction(
            session,
            idempotency_key=key,
            kind=TransactionKind.transfer,
            postings=[Posting(wallet, USD, -amount), Posting(house, USD, amount)],
        )


async def test_a_transfer_moves_money_and_keeps_every_invariant(
    resources: Resources, settings: Settings
) -> None:
    _, wallet = await _user_with_wallet(resources, settings, 1_000)
    house = await _house(resources)

    posted = await _debit(resources, wallet, house, 300, "t-1")

    assert posted.balances == {wallet: 700}
    async with unit_of_work(resources) as session:
        assert await ledger_service.balance(session, house) == 300


async def test_replaying_a_key_returns_the_first_transaction_and_moves_nothing(
    resources: Resources, settings: Settings
) -> None:
    _, wallet = await _user_with_wallet(resources, settings, 1_000)
    house = await _house(resources)

    first = await _debit(resources, wallet, house, 300, "same-key")
    again = await _debit(resources, wallet, house, 300, "same-key")

    assert again.id == first.id
    assert again.replayed
    assert again.balances == {wallet: 700}
    with pytest.raises(IdempotencyKeyReused):
        await _debit(resources, wallet, house, 301, "same-key")


async def test_an_overdraft_is_insufficient_funds_and_changes_nothing(
    resources: Resources, settings: Settings
) -> None:
    _, wallet = await _user_with_wallet(resources, settings, 100)
    house = await _house(resources)

    with pytest.raises(InsufficientFunds):
        await _debit(resources, wallet, house, 101, "too-much")

    async with unit_of_work(resources) as session:
        assert await ledger_service.balance(session, wallet) == 100
        # The failed attempt left no transaction behind: its key is still free.
    assert (await _debit(resources, wallet, house, 100, "too-much")).balances == {wallet: 0}


@pytest.mark.parametrize(
    "amounts",
    [[100], [100, -99], [0, 0], [5, -5, 1, -2]],
    ids=["one-entry", "off-by-one", "zero-amounts", "unbalanced"],
)
async def test_unbalanced_postings_are_refused_before_touching_the_database(
    resources: Resources, settings: Settings, amounts: list[int]
) -> None:
    _, wallet = await _user_with_wallet(resources, settings, 100)
    house = await _house(resources)
    accounts = [wallet, house] * 2
    async with unit_of_work(resources) as session:
        with pytest.raises(UnbalancedTransaction):
            await ledger_service.post_transaction(
                session,
                idempotency_key="bad",
                kind=TransactionKind.transfer,
                postings=[Posting(a, USD, x) for a, x in zip(accounts, amounts, strict=False)],
            )


async def test_a_frozen_wallet_cannot_be_debited(resources: Resources, settings: Settings) -> None:
    _, wallet = await _user_with_wallet(resources, settings, 100)
    house = await _house(resources)
    async with unit_of_work(resources) as session:
        await ledger_repository.set_frozen(session, wallet, True)
    with pytest.raises(WalletFrozen):
        await _debit(resources, wallet, house, 10, "frozen")


async def test_fifty_concurrent_debits_of_the_full_balance_let_exactly_one_through(
    resources: Resources, settings: Settings
) -> None:
    _, wallet = await _user_with_wallet(resources, settings, 5_000)
    house = await _house(resources)

    results = await asyncio.gather(
        *(_debit(resources, wallet, house, 5_000, f"race-{i}") for i in range(50)),
        return_exceptions=True,
    )

    succeeded = [r for r in results if isinstance(r, PostedTransaction)]
    refused = [r for r in results if isinstance(r, InsufficientFunds)]
    assert len(succeeded) == 1
    assert len(refused) == 49
    async with unit_of_work(resources) as session:
        assert await ledger_service.balance(session, wallet) == 0
        assert await ledger_service.balance(session, house) == 5_000


async def test_one_key_posted_fifty_times_at_once_is_one_transaction(
    resources: Resources, settings: Settings
) -> None:
    _, wallet = await _user_with_wallet(resources, settings, 5_000)
    house = await _house(resources)

    results = await asyncio.gather(
        *(_debit(resources, wallet, house, 1_000, "one-key") for _ in range(50))
    )

    assert len({r.id for r in results}) == 1
    assert sum(not r.replayed for r in results) == 1
    assert {tuple(r.balances.items()) for r in results} == {((wallet, 4_000),)}
    async with unit_of_work(resources) as session:
        count = await session.scalar(
            text("SELECT count(*) FROM ledger_transactions WHERE idempotency_key = 'one-key'")
        )
    assert count == 1


# -- the database itself refuses what the service would never do --------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_entries SET amount = amount * 2",
        "DELETE FROM ledger_entries",
        "TRUNCATE ledger_entries CASCADE",
        "UPDATE ledger_transactions SET kind = 'grant'",
        "DELETE FROM ledger_transactions",
    ],
)
async def test_entries_and_transactions_are_append_only(
    resources: Resources, settings: Settings, statement: str
) -> None:
    await _user_with_wallet(resources, settings, 100)
    with pytest.raises(DBAPIError, match="append-only"):
        async with unit_of_work(resources) as session:
            await session.execute(text(statement))


async def test_an_unbalanced_transaction_written_by_hand_cannot_commit(
    resources: Resources, settings: Settings
) -> None:
    _, wallet = await _user_with_wallet(resources, settings, 100)
    with pytest.raises(DBAPIError, match="does not balance"):
        async with unit_of_work(resources) as session:
            tx = await session.scalar(
                text(
                    "INSERT INTO ledger_transactions (idempotency_key, kind, fingerprint)"
                    " VALUES ('by-hand', 'grant', '\\x00') RETURNING id"
                )
            )
            await session.execute(
                text(
                    "INSERT INTO ledger_entries (transaction_id, account_id, currency, amount)"
                    " VALUES (:tx, :wallet, 'cash:USD', 1000000)"
                ),
                {"tx": tx, "wallet": wallet},
            )
    async with unit_of_work(resources) as session:
        assert await ledger_service.balance(session, wallet) == 100


async def _by_hand(session: AsyncSession, key: str) -> int:
    tx = await session.scalar(
        text(
            "INSERT INTO ledger_transactions (idempotency_key, kind, fingerprint)"
            " VALUES (:key, 'transfer', '\\x00') RETURNING id"
        ),
        {"key": key},
    )
    assert tx is not None
    return int(tx)


async def _entry(session: AsyncSession, tx: int, account: int, amount: int) -> None:
    await session.execute(
        text(
            "INSERT INTO ledger_entries (transaction_id, account_id, currency, amount)"
            " VALUES (:tx, :account, 'cash:USD', :amount)"
        ),
        {"tx": tx, "account": account, "amount": amount},
    )


async def test_a_transaction_written_in_several_statements_is_checked_whole_at_commit(
    resources: Resources, settings: Settings
) -> None:
    _, wallet = await _user_with_wallet(resources, settings, 100)
    house = await _house(resources)
    async with unit_of_work(resources) as session:
        balanced = await _by_hand(session, "in-two-statements")
        await _entry(session, balanced, wallet, -30)  # unbalanced until the next statement
        await _entry(session, balanced, house, 30)
    with pytest.raises(DBAPIError, match="does not balance"):
        async with unit_of_work(resources) as session:
            tx = await _by_hand(session, "in-three-statements")
            await _entry(session, tx, wallet, -30)
            await _entry(session, tx, house, 20)
            await _entry(session, tx, house, 5)
    with pytest.raises(DBAPIError, match="does not balance"):
        async with unit_of_work(resources) as session:
            # A committed, balanced transaction given one more entry.
            await _entry(session, balanced, house, 1)
    async with unit_of_work(resources) as session:
        assert await ledger_service.balance(session, wallet) == 70
        assert await ledger_service.check(session) == []


async def test_a_wallet_cannot_go_negative_even_by_hand(
    resources: Resources, settings: Settings
) -> None:
    _, wallet = await _user_with_wallet(resources, settings, 100)
    with pytest.raises(DBAPIError, match="wallet_not_negative"):
        async with unit_of_work(resources) as session:
            await session.execute(
                text("UPDATE accounts SET balance = -1 WHERE id = :id"), {"id": wallet}
            )


async def test_an_entry_in_another_currency_than_its_account_is_refused(
    resources: Resources, settings: Settings
) -> None:
    _, wallet = await _user_with_wallet(resources, settings, 100)
    house = await _house(resources)
    with pytest.raises(DBAPIError, match="fk_ledger_entries_account_currency"):
        async with unit_of_work(resources) as session:
            await ledger_service.post_transaction(
                session,
                idempotency_key="wrong-currency",
                kind=TransactionKind.transfer,
                postings=[Posting(wallet, "cash:EUR", -10), Posting(house, "cash:EUR", 10)],
            )
