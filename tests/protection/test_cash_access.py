"""Property: whatever a user calls, in whatever order, no deposit is opened and no cash bet is
placed until they confirmed an adult date of birth; an under-age date is refused, kept nowhere,
and can be corrected."""

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st
from pydantic import SecretStr
from sqlalchemy import text

from app.kit.resources import Resources
from app.kit.uow import unit_of_work
from app.ledger.service import ledger_service
from app.models.user import Role
from app.settings import Settings
from tests.factories import DEFAULT_PASSWORD, bearer, create_user, fund_wallet, register
from tests.fakes.stripe import FakeStripe
from tests.payment.conftest import STRIPE_KEY, WEBHOOK_SECRET, fake_stripe
from tests.worlds import World, open_pool, world

__all__ = ["fake_stripe", "world"]

Client = httpx.AsyncClient
CASH = "cash:USD"
START = 100_000


@pytest.fixture
def settings(database_url: str, redis_url: str, fake_stripe: FakeStripe) -> Settings:
    """Payments configured against the local fake of Stripe: a deposit that passes the
    player-protection checks does open a checkout. Every example signs a new user up."""
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        register_max_per_address=1_000,
        stripe_secret_key=SecretStr(STRIPE_KEY),
        stripe_webhook_secret=SecretStr(WEBHOOK_SECRET),
        stripe_api_base=fake_stripe.public_url,
    )


@dataclass(frozen=True)
class Confirm:
    """State a date of birth ``years`` (and ``days``) ago; under 18 when ``years < 18``."""

    years: int
    days: int


@dataclass(frozen=True)
class Implausible:
    birth_date: str


@dataclass(frozen=True)
class Deposit:
    amount: int


@dataclass(frozen=True)
class Bet:
    amount: int


Call = Confirm | Implausible | Deposit | Bet


def _born(today: date, confirm: Confirm) -> date:
    """``years`` whole years before today (29 February falls back to the 28th), then
    ``days`` earlier: with ``days == 0`` the 18th birthday is today, with ``years == 17``
    and ``days`` up to 364 it is still to come."""
    try:
        anniversary = today.replace(year=today.year - confirm.years)
    except ValueError:
        anniversary = today.replace(year=today.year - confirm.years, day=28)
    return anniversary - timedelta(days=confirm.days)


calls = st.lists(
    st.one_of(
        st.builds(Confirm, st.integers(1, 17), st.integers(0, 364)),  # under age
        st.builds(Confirm, st.just(17), st.just(364)),  # 18 tomorrow
        st.builds(Confirm, st.integers(18, 90), st.integers(0, 364)),  # adult
        st.builds(Confirm, st.just(18), st.just(0)),  # 18 today
        st.builds(Implausible, st.sampled_from(["2999-01-01", "1850-06-01"])),
        st.builds(Deposit, st.integers(100, 5_000)),
        st.builds(Bet, st.integers(100, 5_000)),
    ),
    min_size=1,
    max_size=8,
)


@pytest.fixture
async def cash_pool(
    client: Client, world: World, resources: Resources, settings: Settings
) -> dict[str, Any]:
    """An open cash pool in a channel an admin approved for cash."""
    async with unit_of_work(resources) as session:
        admin = await create_user(session, settings, role=Role.admin)
    login = await client.post(
        "/api/v1/auth/login", json={"email": admin.email, "password": DEFAULT_PASSWORD}
    )
    approved = await client.patch(
        f"/api/v1/channels/{world.channel_id}",
        json={"cash_enabled": True},
        headers=bearer(login.json()["access_token"]),
    )
    assert approved.status_code == 200, approved.text
    return await open_pool(client, world, currency="cash", min_stake=100, max_stake=100_000)


def _code(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


@examples(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(sequence=calls)
async def test_no_deposit_or_cash_bet_before_an_adult_date_is_confirmed(
    client: Client,
    resources: Resources,
    cash_pool: dict[str, Any],
    sequence: list[Call],
) -> None:
    pool = cash_pool
    outcome = pool["outcomes"][0]["id"]
    body = await register(client)
    user_id, auth = int(body["user"]["id"]), bearer(body["access_token"])  # type: ignore[index]
    async with unit_of_work(resources) as session:
        await fund_wallet(session, user_id, START, CASH)
        today = (await session.scalar(text("SELECT current_date"))) or date.today()

    confirmed: date | None = None  # the model: the adult date confirmed, if any
    deposits = staked = 0
    for number, call in enumerate(sequence):
        if isinstance(call, Confirm):
            born = _born(today, call)
            response = await client.post(
                "/api/v1/me/age-confirmation",
                json={"birth_date": born.isoformat()},
                headers=auth,
            )
            adult = call.years >= 18
            if confirmed is not None and born != confirmed:
                assert response.status_code == 409, (call, response.text)
                assert _code(response) == "birth_date_already_confirmed"
            elif adult:
                assert response.status_code == 200, (call, response.text)
                confirmed = born
            else:
                assert response.status_code == 403, (call, response.text)
                assert _code(response) == "underage"
        elif isinstance(call, Implausible):
            response = await client.post(
                "/api/v1/me/age-confirmation", json={"birth_date": call.birth_date}, headers=auth
            )
            assert response.status_code == 422
        elif isinstance(call, Deposit):
            response = await client.post(
                "/api/v1/payments/deposits",
                json={"amount": call.amount, "currency": CASH},
                headers=auth,
            )
            if confirmed is None:
                assert response.status_code == 403, (call, response.text)
                assert _code(response) == "age_not_confirmed"
            else:
                assert response.status_code == 201, (call, response.text)
                deposits += 1
        else:
            response = await client.post(
                f"/api/v1/pools/{pool['id']}/bets",
                json={"outcome_id": outcome, "amount": call.amount},
                headers={**auth, "Idempotency-Key": f"bet-{number}"},
            )
            if confirmed is None:
                assert response.status_code == 403, (call, response.text)
                assert _code(response) == "age_not_confirmed"
            else:
                assert response.status_code == 201, (call, response.text)
                staked += call.amount

        limits = (await client.get("/api/v1/me/limits", headers=auth)).json()
        assert limits["age_confirmed"] is (confirmed is not None)
        assert limits["birth_date"] == (confirmed.isoformat() if confirmed else None)

    async with unit_of_work(resources) as session:
        stored = await session.execute(
            text(
                "SELECT birth_date, (SELECT count(*) FROM deposits WHERE user_id = :u),"
                " (SELECT coalesce(sum(amount), 0) FROM bets WHERE user_id = :u)"
                " FROM users WHERE id = :u"
            ),
            {"u": user_id},
        )
        assert tuple(stored.one()) == (confirmed, deposits, staked)
        wallet = await ledger_service.wallet(session, user_id, CASH)
        assert await ledger_service.balance(session, wallet) == START - staked
