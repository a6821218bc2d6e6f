"""Property: any sequence of deposits, transfers and refunds keeps every ledger invariant, and
balances match a plain model of what should have happened."""

from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.kit.resources import Resources
from app.kit.uow import unit_of_work
from app.ledger.errors import InsufficientFunds
from app.ledger.repository import Posting
from app.ledger.service import ledger_service
from app.models.ledger import AccountKind, TransactionKind
from app.settings import Settings
from tests.factories import create_user

USD = "cash:USD"


@dataclass(frozen=True)
class Deposit:
    user: int
    amount: int


@dataclass(frozen=True)
class Transfer:
    source: int
    target: int
    amount: int


@dataclass(frozen=True)
class Refund:
    """Give a user's money back to the clearing account (a deposit reversal)."""

    user: int
    amount: int


USERS = 3
amounts = st.integers(min_value=1, max_value=10_000)
operations = st.lists(
    st.one_of(
        st.builds(Deposit, st.integers(0, USERS - 1), amounts),
        st.builds(Transfer, st.integers(0, USERS - 1), st.integers(0, USERS - 1), amounts),
        st.builds(Refund, st.integers(0, USERS - 1), amounts),
    ),
    min_size=1,
    max_size=25,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(ops=operations)
async def test_random_money_movements_keep_every_invariant(
    resources: Resources, settings: Settings, ops: list[Deposit | Transfer | Refund]
) -> None:
    async with unit_of_work(resources) as session:
        users = [(await create_user(session, settings)).id for _ in range(USERS)]
        wallets = [await ledger_service.wallet(session, u, USD) for u in users]
        clearing = await ledger_service.system_account(session, AccountKind.stripe_clearing, USD)
        clearing_start = await ledger_service.balance(session, clearing)
    model = [0] * USERS

    for number, op in enumerate(ops):
        if isinstance(op, Deposit):
            moves, kind = [(clearing, -op.amount), (wallets[op.user], op.amount)], "deposit"
        elif isinstance(op, Transfer):
            if op.source == op.target:
                continue
            moves = [(wallets[op.source], -op.amount), (wallets[op.target], op.amount)]
            kind = "transfer"
        else:
            moves, kind = (
                [(wallets[op.user], -op.amount), (clearing, op.amount)],
                "deposit_reversal",
            )
        try:
            async with unit_of_work(resources) as session:
                await ledger_service.post_transaction(
                    session,
                    idempotency_key=f"prop:{users[0]}:{number}",
                    kind=TransactionKind(kind),
                    postings=[Posting(account, USD, amount) for account, amount in moves],
                )
        except InsufficientFunds:
            source = wallets.index(moves[0][0])
            assert model[source] < -moves[0][1]
            continue
        for account, amount in moves:
            if account in wallets:
                model[wallets.index(account)] += amount

    async with unit_of_work(resources) as session:
        assert await ledger_service.check(session) == []
        balances = [await ledger_service.balance(session, w) for w in wallets]
        clearing_now = await ledger_service.balance(session, clearing)
    assert balances == model
    assert all(balance >= 0 for balance in balances)
    # Money is conserved: what the users hold came out of clearing.
    assert clearing_start - clearing_now == sum(model)
