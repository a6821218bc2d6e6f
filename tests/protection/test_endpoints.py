"""Player protection over the API: age, deposit limits with cooling-off, self-exclusion, audit."""

from datetime import date, timedelta

import httpx
from sqlalchemy import text

from app.kit.resources import Resources
from app.kit.uow import unit_of_work
from app.protection.repository import protection_repository
from tests.factories import bearer, register

Client = httpx.AsyncClient


async def _signed_in(client: Client) -> tuple[int, dict[str, str]]:
    body = await register(client)
    return int(body["user"]["id"]), bearer(body["access_token"])  # type: ignore[index]


async def test_age_is_confirmed_once_and_minors_are_kept_out(client: Client) -> None:
    _, adult = await _signed_in(client)
    confirmed = await client.post(
        "/api/v1/me/age-confirmation", json={"birth_date": "1990-05-17"}, headers=adult
    )
    assert confirmed.status_code == 200
    assert confirmed.json()["age_confirmed"] is True
    again = await client.post(
        "/api/v1/me/age-confirmation", json={"birth_date": "1980-01-01"}, headers=adult
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "birth_date_already_confirmed"

    same = await client.post(
        "/api/v1/me/age-confirmation", json={"birth_date": "1990-05-17"}, headers=adult
    )
    assert same.status_code == 200  # stating the confirmed date again changes nothing


async def test_an_underage_date_is_refused_kept_nowhere_and_can_be_corrected(
    client: Client, resources: Resources
) -> None:
    minor_id, minor = await _signed_in(client)
    for typed in ["2015-03-01", (date.today() - timedelta(days=16 * 366)).isoformat()]:
        refused = await client.post(
            "/api/v1/me/age-confirmation", json={"birth_date": typed}, headers=minor
        )
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "underage"
        limits = (await client.get("/api/v1/me/limits", headers=minor)).json()
        assert limits["age_confirmed"] is False
        assert limits["birth_date"] is None
    async with unit_of_work(resources) as session:
        stored = await session.scalar(
            text("SELECT birth_date FROM users WHERE id = :id"), {"id": minor_id}
        )
        assert stored is None

    # Whoever typed 2015 by mistake enters their real date.
    corrected = await client.post(
        "/api/v1/me/age-confirmation", json={"birth_date": "1990-01-01"}, headers=minor
    )
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["age_confirmed"] is True
    assert corrected.json()["birth_date"] == "1990-01-01"

    # The refusals stay on record for review, and the correction points at them.
    async with unit_of_work(resources) as session:
        trail = await protection_repository.audit_trail(session, minor_id)
    assert [a.action for a in trail] == ["age_refused", "age_refused", "age_confirmed"]
    assert trail[-1].details["corrects"] == [a.details["birth_date"] for a in trail[:2]]


async def test_an_underage_date_left_by_older_code_confirms_nothing(
    client: Client, resources: Resources
) -> None:
    user_id, auth = await _signed_in(client)
    async with unit_of_work(resources) as session:
        await session.execute(
            text("UPDATE users SET birth_date = '2015-03-01' WHERE id = :id"), {"id": user_id}
        )
    limits = (await client.get("/api/v1/me/limits", headers=auth)).json()
    assert limits["age_confirmed"] is False
    corrected = await client.post(
        "/api/v1/me/age-confirmation", json={"birth_date": "1990-01-01"}, headers=auth
    )
    assert corrected.status_code == 200
    assert corrected.json()["age_confirmed"] is True


async def test_bad_birth_dates_are_422(client: Client) -> None:
    _, auth = await _signed_in(client)
    for value in ["2999-01-01", "not a date", "1850-01-01"]:
        response = await client.post(
            "/api/v1/me/age-confirmation", json={"birth_date": value}, headers=auth
        )
        assert response.status_code == 422, value


async def test_lowering_a_limit_is_immediate_raising_waits_24_hours(
    client: Client, resources: Resources
) -> None:
    user_id, auth = await _signed_in(client)

    first = await client.put(
        "/api/v1/me/limits/deposit", json={"period": "day", "amount": 5_000}, headers=auth
    )
    assert first.json()["deposit_limits"][0]["amount"] == 5_000

    lower = await client.put(
        "/api/v1/me/limits/deposit", json={"period": "day", "amount": 2_000}, headers=auth
    )
    assert lower.json()["deposit_limits"][0]["amount"] == 2_000

    raise_ = await client.put(
        "/api/v1/me/limits/deposit", json={"period": "day", "amount": 9_000}, headers=auth
    )
    view = raise_.json()["deposit_limits"][0]
    assert view["amount"] == 2_000
    assert view["pending_amount"] == 9_000
    assert view["pending_effective_at"] is not None

    # A day later the raise is in force.
    async with unit_of_work(resources) as session:
        await session.execute(
            text(
                "UPDATE deposit_limits SET pending_effective_at = now() - interval '1 second'"
                " WHERE user_id = :u"
            ),
            {"u": user_id},
        )
    later = (await client.get("/api/v1/me/limits", headers=auth)).json()["deposit_limits"][0]
    assert later["amount"] == 9_000
    assert later["pending_amount"] is None

    async with unit_of_work(resources) as session:
        actions = [a.action for a in await protection_repository.audit_trail(session, user_id)]
    assert actions == [
        "deposit_limit_set",
        "deposit_limit_lowered",
        "deposit_limit_raise_requested",
    ]


async def test_removing_a_limit_also_waits(client: Client) -> None:
    _, auth = await _signed_in(client)
    await client.put(
        "/api/v1/me/limits/deposit", json={"period": "week", "amount": 100}, headers=auth
    )
    removal = await client.put(
        "/api/v1/me/limits/deposit", json={"period": "week", "amount": None}, headers=auth
    )
    view = removal.json()["deposit_limits"][0]
    assert view["amount"] == 100
    assert view["pending_removal"] is True


async def test_self_exclusion_cannot_be_shortened_or_lifted(client: Client) -> None:
    _, auth = await _signed_in(client)
    excluded = await client.post("/api/v1/me/self-exclusion", json={"days": 30}, headers=auth)
    assert excluded.status_code == 200
    assert excluded.json()["self_exclusion"]["ends_at"] is not None

    shorter = await client.post("/api/v1/me/self-exclusion", json={"days": 1}, headers=auth)
    assert shorter.status_code == 409
    assert shorter.json()["error"]["code"] == "self_exclusion_active"

    longer = await client.post("/api/v1/me/self-exclusion", json={"permanent": True}, headers=auth)
    assert longer.status_code == 200
    assert longer.json()["self_exclusion"]["ends_at"] is None


async def test_self_exclusion_needs_days_or_permanent(client: Client) -> None:
    _, auth = await _signed_in(client)
    for body in [{}, {"days": 3, "permanent": True}, {"days": 0}]:
        response = await client.post("/api/v1/me/self-exclusion", json=body, headers=auth)
        assert response.status_code == 422, body
