"""A paid Checkout Session whose amount or currency is not the deposit's credits nothing: the
deposit is held, every admin is told at once, and only an admin's review credits it (or
rejects it). Stripe's later events never credit a held deposit."""

import logging
from typing import Any

import httpx
import pytest

from app.kit.resources import Resources
from app.kit.uow import unit_of_work
from app.models.user import Role
from app.settings import Settings
from tests.conftest import RunJobs
from tests.factories import DEFAULT_PASSWORD, bearer, create_user
from tests.fakes.stripe import FakeStripe, encode_event, event_envelope, webhook_headers
from tests.payment.conftest import WEBHOOK_SECRET, admin_headers, adult
from tests.realtime.conftest import Connect, connect

__all__ = ["connect"]

Client = httpx.AsyncClient
Auth = dict[str, str]
Event = dict[str, Any]


async def _deliver(client: Client, *events: Event) -> None:
    for event in events:
        body = encode_event(event)
        response = await client.post(
            "/webhooks/stripe", content=body, headers=webhook_headers(body, WEBHOOK_SECRET)
        )
        assert response.status_code == 200, response.text


async def _start_deposit(client: Client, fake: FakeStripe, auth: Auth, amount: int) -> str:
    response = await client.post(
        "/api/v1/payments/deposits", json={"amount": amount, "currency": "cash:USD"}, headers=auth
    )
    assert response.status_code == 201, response.text
    deposit_id = str(response.json()["id"])
    return next(
        str(s["id"]) for s in fake.sessions.values() if s["client_reference_id"] == deposit_id
    )


async def _paid(fake: FakeStripe, session_id: str, kind: str, **changes: Any) -> Event:
    """The event that says the session was paid, with ``changes`` made to the session."""
    if kind == "completed":
        await fake.pay(session_id)
    else:
        await fake.pay(session_id, delayed=True)
        await fake.async_payment_succeeded(session_id)
    event = fake.events[-1]
    return event_envelope(event["type"], {**event["data"]["object"], **changes})


async def _mine(client: Client, auth: Auth) -> dict[str, Any]:
    deposits: list[dict[str, Any]] = (
        await client.get("/api/v1/payments/deposits", headers=auth)
    ).json()["deposits"]
    return deposits[0]


async def _balance(client: Client, auth: Auth) -> int:
    wallets = (await client.get("/api/v1/me/wallets", headers=auth)).json()["wallets"]
    return sum(int(w["balance"]) for w in wallets if w["currency"] == "cash:USD")


async def _admin_token(client: Client, resources: Resources, settings: Settings) -> str:
    async with unit_of_work(resources) as session:
        admin = await create_user(session, settings, role=Role.admin)
    login = await client.post(
        "/api/v1/auth/login", json={"email": admin.email, "password": DEFAULT_PASSWORD}
    )
    return str(login.json()["access_token"])


MISMATCHES: dict[str, dict[str, Any]] = {
    "less": {"amount_total": 100, "amount_subtotal": 100},
    "more": {"amount_total": 99_900, "amount_subtotal": 99_900},
    "other currency": {"currency": "eur"},
    "no amount": {"amount_total": None},
}


@pytest.mark.parametrize("kind", ["completed", "async_payment_succeeded"])
@pytest.mark.parametrize("mismatch", list(MISMATCHES), ids=list(MISMATCHES))
async def test_a_payment_that_does_not_match_is_held_and_admins_are_told(
    client: Client,
    fake_stripe: FakeStripe,
    run_jobs: RunJobs,
    resources: Resources,
    settings: Settings,
    connect: Connect,
    caplog: pytest.LogCaptureFixture,
    kind: str,
    mismatch: str,
) -> None:
    user_id, auth = await adult(client)
    admin_token = await _admin_token(client, resources, settings)
    admin_socket = await connect(token=admin_token)
    viewer_socket = await connect(token=auth["Authorization"].removeprefix("Bearer "))
    session_id = await _start_deposit(client, fake_stripe, auth, 2_500)

    event = await _paid(fake_stripe, session_id, kind, **MISMATCHES[mismatch])
    with caplog.at_level(logging.WARNING):
        await _deliver(client, event)
        await run_jobs()

    assert await _balance(client, auth) == 0
    mine = await _mine(client, auth)
    assert mine["status"] == "held"
    held = [r for r in caplog.records if "held for review" in r.getMessage()]
    assert len(held) == 1 and held[0].levelno >= logging.WARNING
    assert session_id in held[0].getMessage()

    notice = await admin_socket.wait_for("notification", lambda n: n["kind"] == "deposit.held")
    changed = MISMATCHES[mismatch]
    facts = notice["data"]
    assert facts["deposit_id"] == mine["id"] and notice["id"] > 0
    assert (facts["user_id"], facts["amount"], facts["currency"]) == (user_id, 2_500, "cash:USD")
    assert facts["reported_amount"] == changed.get("amount_total", 2_500)
    assert facts["reported_currency"] == changed.get("currency", "usd")
    assert viewer_socket.received("notification") == []

    listed = await client.get("/api/v1/payments/deposits/held", headers=bearer(admin_token))
    assert listed.status_code == 200
    [review] = listed.json()["deposits"]
    assert (review["id"], review["status"], review["checkout_session_id"]) == (
        mine["id"],
        "held",
        session_id,
    )
    assert review["reported_amount"] == facts["reported_amount"]
    assert (await client.get("/api/v1/payments/deposits/held", headers=auth)).status_code == 403


async def test_the_currency_is_compared_without_regard_to_case(
    client: Client, fake_stripe: FakeStripe, run_jobs: RunJobs, resources: Resources
) -> None:
    _, auth = await adult(client)
    session_id = await _start_deposit(client, fake_stripe, auth, 1_200)
    await _deliver(client, await _paid(fake_stripe, session_id, "completed", currency="USD"))
    await run_jobs()
    assert (await _mine(client, auth))["status"] == "succeeded"
    assert await _balance(client, auth) == 1_200


async def test_later_events_never_credit_a_held_deposit(
    client: Client,
    fake_stripe: FakeStripe,
    run_jobs: RunJobs,
    resources: Resources,
    settings: Settings,
) -> None:
    _, auth = await adult(client)
    session_id = await _start_deposit(client, fake_stripe, auth, 2_000)
    await fake_stripe.pay(session_id)
    genuine = fake_stripe.events[-1]
    paid = genuine["data"]["object"]
    wrong = event_envelope(genuine["type"], {**paid, "amount_total": 1})
    await _deliver(client, wrong)
    await run_jobs()
    assert (await _mine(client, auth))["status"] == "held"

    # A matching event about the same session, a delayed success, an expiry, a redelivery.
    await _deliver(
        client,
        event_envelope("checkout.session.completed", paid),
        event_envelope("checkout.session.async_payment_succeeded", paid),
        event_envelope("checkout.session.expired", {**paid, "status": "expired"}),
        wrong,
    )
    await run_jobs()
    assert (await _mine(client, auth))["status"] == "held"
    assert await _balance(client, auth) == 0

    # Refunded in Stripe while held: nothing was credited, so nothing is taken back.
    await fake_stripe.refund(session_id)
    await _deliver(client, fake_stripe.events[-1])
    await run_jobs()
    assert await _balance(client, auth) == 0
    assert (await _mine(client, auth))["status"] == "held"


async def test_an_admin_credits_a_held_deposit_once(
    client: Client,
    fake_stripe: FakeStripe,
    run_jobs: RunJobs,
    resources: Resources,
    settings: Settings,
) -> None:
    _, auth = await adult(client)
    admin = await admin_headers(client, resources, settings)
    session_id = await _start_deposit(client, fake_stripe, auth, 3_000)
    await _deliver(client, await _paid(fake_stripe, session_id, "completed", currency="eur"))
    await run_jobs()
    deposit_id = (await _mine(client, auth))["id"]

    not_admin = await client.post(
        f"/api/v1/payments/deposits/{deposit_id}/credit", json={"note": "mine"}, headers=auth
    )
    assert not_admin.status_code == 403
    note = {"note": "Stripe dashboard shows 30.00 USD captured"}
    credited = await client.post(
        f"/api/v1/payments/deposits/{deposit_id}/credit", json=note, headers=admin
    )
    assert credited.status_code == 200, credited.text
    assert credited.json()["status"] == "succeeded"
    assert credited.json()["review_note"] == note["note"]
    again = await client.post(
        f"/api/v1/payments/deposits/{deposit_id}/credit", json=note, headers=admin
    )
    assert again.status_code == 200  # a retry, answered as the first time
    reject = await client.post(
        f"/api/v1/payments/deposits/{deposit_id}/reject", json={"reason": "no"}, headers=admin
    )
    assert reject.status_code == 409
    assert reject.json()["error"]["code"] == "deposit_not_held"

    assert await _balance(client, auth) == 3_000
    held = (await client.get("/api/v1/payments/deposits/held", headers=admin)).json()
    assert held["deposits"] == []
    # Stripe's events after the review change nothing more.
    await _deliver(client, fake_stripe.events[-1])
    await run_jobs()
    assert await _balance(client, auth) == 3_000


async def test_a_rejected_deposit_is_never_credited(
    client: Client,
    fake_stripe: FakeStripe,
    run_jobs: RunJobs,
    resources: Resources,
    settings: Settings,
) -> None:
    _, auth = await adult(client)
    admin = await admin_headers(client, resources, settings)
    session_id = await _start_deposit(client, fake_stripe, auth, 1_500)
    genuine = await _paid(fake_stripe, session_id, "completed")
    await _deliver(
        client, event_envelope(genuine["type"], {**genuine["data"]["object"], "amount_total": 15})
    )
    await run_jobs()
    deposit_id = (await _mine(client, auth))["id"]

    rejected = await client.post(
        f"/api/v1/payments/deposits/{deposit_id}/reject",
        json={"reason": "charged 0.15, refunded in Stripe"},
        headers=admin,
    )
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "rejected"
    await _deliver(client, genuine)
    await run_jobs()
    assert (await _mine(client, auth))["status"] == "rejected"
    assert await _balance(client, auth) == 0
    credit = await client.post(
        f"/api/v1/payments/deposits/{deposit_id}/credit", json={"note": "x"}, headers=admin
    )
    assert credit.status_code == 409


async def test_an_admin_may_not_review_their_own_deposit(
    client: Client,
    fake_stripe: FakeStripe,
    run_jobs: RunJobs,
    resources: Resources,
    settings: Settings,
) -> None:
    token = await _admin_token(client, resources, settings)
    admin = bearer(token)
    confirmed = await client.post(
        "/api/v1/me/age-confirmation", json={"birth_date": "1980-01-01"}, headers=admin
    )
    assert confirmed.status_code == 200
    session_id = await _start_deposit(client, fake_stripe, admin, 5_000)
    await _deliver(client, await _paid(fake_stripe, session_id, "completed", amount_total=50_000))
    await run_jobs()
    deposit_id = (await _mine(client, admin))["id"]
    own = await client.post(
        f"/api/v1/payments/deposits/{deposit_id}/credit", json={"note": "fine"}, headers=admin
    )
    assert own.status_code == 403
    assert await _balance(client, admin) == 0


async def test_a_held_deposit_counts_toward_the_deposit_limit(
    client: Client, fake_stripe: FakeStripe, run_jobs: RunJobs, resources: Resources
) -> None:
    _, auth = await adult(client)
    limit = await client.put(
        "/api/v1/me/limits/deposit", json={"period": "day", "amount": 3_000}, headers=auth
    )
    assert limit.status_code == 200
    session_id = await _start_deposit(client, fake_stripe, auth, 2_500)
    await _deliver(client, await _paid(fake_stripe, session_id, "completed", amount_total=25))
    await run_jobs()
    assert (await _mine(client, auth))["status"] == "held"
    over = await client.post(
        "/api/v1/payments/deposits", json={"amount": 1_000, "currency": "cash:USD"}, headers=auth
    )
    assert over.status_code == 409
    assert over.json()["error"]["code"] == "deposit_limit_exceeded"
