"""Cash pools: only in a channel an admin approved, only for adults who confirmed their age,
are not self-excluded and whose wallet is not frozen; the platform's rake by default, never
above its cap, taken from the losing side into the house, rounded down."""

from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from app.kit.resources import Resources
from app.kit.uow import unit_of_work
from app.ledger.repository import ledger_repository
from app.ledger.service import ledger_service
from app.models.ledger import AccountKind
from app.models.user import Role
from app.settings import Settings
from tests.conftest import RunJobs
from tests.factories import DEFAULT_PASSWORD, bearer, create_user, fund_wallet
from tests.worlds import Person, World, bet, open_pool, pool_body

Client = httpx.AsyncClient

CASH = "cash:USD"
START = 100_000  # cents in every viewer's cash wallet
ADULT = "1990-05-17"


@pytest.fixture
def settings(database_url: str, redis_url: str) -> Settings:
    """A rake default and cap other than the built-in ones, so the tests see the settings
    being used rather than numbers that happen to match."""
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        cash_rake_bps_default=250,
        cash_rake_bps_cap=800,
    )


def _code(response: httpx.Response) -> str:
    body: dict[str, Any] = response.json()
    return str(body["error"]["code"])


async def _enable_cash(
    client: Client, world: World, resources: Resources, settings: Settings
) -> None:
    """An admin approves cash pools for the world's channel; every viewer gets cash."""
    async with unit_of_work(resources) as session:
        admin = await create_user(session, settings, role=Role.admin)
        for viewer in world.viewers:
            await fund_wallet(session, viewer.id, START, CASH)
    login = await client.post(
        "/api/v1/auth/login", json={"email": admin.email, "password": DEFAULT_PASSWORD}
    )
    approved = await client.patch(
        f"/api/v1/channels/{world.channel_id}",
        json={"cash_enabled": True},
        headers=bearer(login.json()["access_token"]),
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["cash_enabled"] is True


async def _confirm_age(client: Client, person: Person, birth_date: str) -> httpx.Response:
    return await client.post(
        "/api/v1/me/age-confirmation", json={"birth_date": birth_date}, headers=person.auth
    )


async def _cash_balance(client: Client, person: Person) -> tuple[int, bool]:
    wallets = (await client.get("/api/v1/me/wallets", headers=person.auth)).json()["wallets"]
    wallet = next(w for w in wallets if w["currency"] == CASH)
    return int(wallet["balance"]), bool(wallet["frozen"])


async def _pools_in_db(resources: Resources) -> int:
    async with unit_of_work(resources) as session:
        return int(await session.scalar(text("SELECT count(*) FROM pools")) or 0)


# -- who may stake cash --------------------------------------------------------------------


async def _never_confirmed(client: Client, resources: Resources, person: Person) -> None:
    return None


async def _underage(client: Client, resources: Resources, person: Person) -> None:
    sixteen = (date.today() - timedelta(days=16 * 366)).isoformat()
    stated = await _confirm_age(client, person, sixteen)
    assert stated.status_code == 403
    assert _code(stated) == "underage"


async def _self_excluded(client: Client, resources: Resources, person: Person) -> None:
    assert (await _confirm_age(client, person, ADULT)).status_code == 200
    excluded = await client.post("/api/v1/me/self-exclusion", json={"days": 7}, headers=person.auth)
    assert excluded.status_code == 200, excluded.text


async def _frozen(client: Client, resources: Resources, person: Person) -> None:
    assert (await _confirm_age(client, person, ADULT)).status_code == 200
    async with unit_of_work(resources) as session:
        wallet = await ledger_service.wallet(session, person.id, CASH)
        await ledger_repository.set_frozen(session, wallet, True)


Refusal = Callable[[Client, Resources, Person], Awaitable[None]]


@pytest.mark.parametrize(
    ("make_refused", "code"),
    [
        (_never_confirmed, "age_not_confirmed"),
        # A refused date is not kept: the age is simply not confirmed.
        (_underage, "age_not_confirmed"),
        (_self_excluded, "self_excluded"),
        (_frozen, "wallet_frozen"),
    ],
    ids=["age_not_confirmed", "underage", "self_excluded", "wallet_frozen"],
)
async def test_a_cash_bet_is_refused_and_debits_nothing(
    client: Client,
    world: World,
    resources: Resources,
    settings: Settings,
    make_refused: Refusal,
    code: str,
) -> None:
    await _enable_cash(client, world, resources, settings)
    pool = await open_pool(client, world, currency="cash", min_stake=100, max_stake=50_000)
    assert pool["currency"] == CASH
    yes = pool["outcomes"][0]["id"]
    refused_one, adult = world.viewers[0], world.viewers[1]
    await make_refused(client, resources, refused_one)

    refused = await bet(client, refused_one, pool["id"], yes, 1_000, "refused")
    assert refused.status_code == 403, refused.text
    assert _code(refused) == code
    balance, _ = await _cash_balance(client, refused_one)
    assert balance == START
    seen = (await client.get(f"/api/v1/pools/{pool['id']}", headers=refused_one.auth)).json()
    assert seen["my_position"] is None
    assert (seen["total"], seen["bettors"]) == (0, 0)

    # The pool itself takes cash: an adult who confirmed their age bets.
    assert (await _confirm_age(client, adult, ADULT)).status_code == 200
    placed = await bet(client, adult, pool["id"], yes, 1_000, "adult")
    assert placed.status_code == 201, placed.text
    assert placed.json()["balance"] == START - 1_000
    assert (await client.get(f"/api/v1/pools/{pool['id']}")).json()["total"] == 1_000


async def test_a_cash_bet_works_once_the_age_is_confirmed(
    client: Client, world: World, resources: Resources, settings: Settings
) -> None:
    await _enable_cash(client, world, resources, settings)
    pool = await open_pool(client, world, currency="cash", min_stake=100, max_stake=50_000)
    yes = pool["outcomes"][0]["id"]
    viewer = world.viewers[0]
    first = await bet(client, viewer, pool["id"], yes, 2_500, "before")
    assert _code(first) == "age_not_confirmed"
    assert await _cash_balance(client, viewer) == (START, False)

    confirmed = await _confirm_age(client, viewer, ADULT)
    assert confirmed.json()["age_confirmed"] is True
    placed = await bet(client, viewer, pool["id"], yes, 2_500, "after")
    assert placed.status_code == 201, placed.text
    assert placed.json()["position"] == 2_500
    assert await _cash_balance(client, viewer) == (START - 2_500, False)


# -- rake ----------------------------------------------------------------------------------


async def test_cash_pools_take_the_default_rake_and_never_more_than_the_cap(
    client: Client, world: World, resources: Resources, settings: Settings
) -> None:
    await _enable_cash(client, world, resources, settings)
    default = await open_pool(client, world, currency="cash")
    assert default["rake_bps"] == settings.cash_rake_bps_default == 250
    at_cap = await open_pool(client, world, currency="cash", rake_bps=settings.cash_rake_bps_cap)
    assert at_cap["rake_bps"] == settings.cash_rake_bps_cap

    before = await _pools_in_db(resources)
    too_high = await client.post(
        "/api/v1/pools",
        json=pool_body(world, currency="cash", rake_bps=settings.cash_rake_bps_cap + 1),
        headers=world.owner.auth,
    )
    assert too_high.status_code == 422, too_high.text
    assert _code(too_high) == "validation_error"
    assert "rake_bps" in too_high.json()["error"]["message"]
    assert str(settings.cash_rake_bps_cap) in too_high.json()["error"]["message"]
    assert await _pools_in_db(resources) == before

    template = await client.post(
        f"/api/v1/channels/{world.channel_id}/templates",
        json={
            "name": "greedy",
            "title": "Greedy?",
            "outcomes": ["Yes", "No"],
            "currency": "cash",
            "rake_bps": settings.cash_rake_bps_cap + 1,
        },
        headers=world.owner.auth,
    )
    assert template.status_code == 422, template.text
    assert _code(template) == "validation_error"


async def test_a_settled_cash_pool_takes_the_rake_from_the_losers_rounded_down(
    client: Client, world: World, resources: Resources, settings: Settings, run_jobs: RunJobs
) -> None:
    await _enable_cash(client, world, resources, settings)
    for viewer in world.viewers:
        assert (await _confirm_age(client, viewer, ADULT)).status_code == 200
    pool = await open_pool(client, world, currency="cash", min_stake=100, max_stake=50_000)
    yes, no = (o["id"] for o in pool["outcomes"])
    a, b, c, _ = world.viewers
    stakes = [(a, yes, 1_000), (b, no, 3_333), (c, no, 777)]
    for n, (person, outcome, amount) in enumerate(stakes):
        placed = await bet(client, person, pool["id"], outcome, amount, f"k{n}")
        assert placed.status_code == 201, placed.text
    path = f"/api/v1/pools/{pool['id']}"
    assert (await client.post(f"{path}/lock", headers=world.owner.auth)).status_code == 200
    resolved = await client.post(
        f"{path}/resolve", json={"outcome_id": yes}, headers=world.owner.auth
    )
    assert resolved.status_code == 200, resolved.text
    await run_jobs()
    assert (await client.get(path)).json()["status"] == "settled"

    staked = 1_000 + 3_333 + 777
    rake = 102  # the losing side, 4110, x 2.5% = 102.75, rounded down
    async with unit_of_work(resources) as session:
        house = await ledger_service.system_account(session, AccountKind.house, CASH)
        assert await ledger_service.balance(session, house) == rake
        recorded = await session.scalar(
            text("SELECT rake_amount FROM pools WHERE id = :p"), {"p": pool["id"]}
        )
    assert recorded == rake
    # The only winner gets everything but the rake; the losers lose their stakes.
    assert await _cash_balance(client, a) == (START - 1_000 + staked - rake, False)
    assert await _cash_balance(client, b) == (START - 3_333, False)
    assert await _cash_balance(client, c) == (START - 777, False)
    mine = (await client.get(path, headers=a.auth)).json()["my_position"]
    assert mine["payout"] == staked - rake
