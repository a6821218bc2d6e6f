"""Stripe deposits: checkout, webhooks verified and stored once, events applied exactly once in
any order, refunds and disputes taken back (or owed, freezing the wallet)."""

import asyncio
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from app.kit.resources import Resources
from app.kit.uow import unit_of_work
from app.settings import Settings
from tests.conftest import RunJobs
from tests.factories import fund_wallet
from tests.fakes.stripe import (
    FakeStripe,
    charge_object,
    checkout_session_object,
    encode_event,
    event_envelope,
    signed_event,
    webhook_headers,
)
from tests.payment.conftest import WEBHOOK_SECRET, admin_headers, adult

Client = httpx.AsyncClient


async def _deliver(client: Client, event: dict[str, Any]) -> int:
    body = encode_event(event)
    response = await client.post(
        "/webhooks/stripe", content=body, headers=webhook_headers(body, WEBHOOK_SECRET)
    )
    return response.status_code


async def _balance(client: Client, auth: dict[str, str]) -> int:
    wallets = (await client.get("/api/v1/me/wallets", headers=auth)).json()["wallets"]
    return sum(w["balance"] for w in wallets if w["currency"] == "cash:USD")


async def _deposit(client: Client, auth: dict[str, str], amount: int = 2_500) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/payments/deposits", json={"amount": amount, "currency": "cash:USD"}, headers=auth
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _session_id(fake: FakeStripe, deposit: dict[str, Any]) -> str:
    session = next(
        s for s in fake.sessions.values() if s["client_reference_id"] == str(deposit["id"])
    )
    return str(session["id"])


async def test_a_paid_checkout_credits_the_wallet_once(
    client: Client, fake_stripe: FakeStripe, run_jobs: RunJobs, resources: Resources
) -> None:
    _, auth = await adult(client)
    deposit = await _deposit(client, auth)
    assert deposit["status"] == "pending"
    assert deposit["checkout_url"].startswith(fake_stripe.public_url)
    request = fake_stripe.api_requests[-1]
    assert request.idempotency_key == f"streampools-deposit-{deposit['id']}"

    await fake_stripe.pay(_session_id(fake_stripe, deposit))
    completed = fake_stripe.events[-1]
    assert await _deliver(client, completed) == 200
    assert await _balance(client, auth) == 0  # credited by the job, not the webhook
    await run_jobs()
    assert await _balance(client, auth) == 2_500

    assert await _deliver(client, completed) == 200  # redelivery: 2xx, no second credit
    await run_jobs()
    assert await _balance(client, auth) == 2_500
    deposits = (await client.get("/api/v1/payments/deposits", headers=auth)).json()["deposits"]
    assert deposits[0]["status"] == "succeeded"
    entries = (await client.get("/api/v1/me/wallets/cash:USD/entries", headers=auth)).json()
    assert [e["reason"] for e in entries["entries"]] == ["deposit"]


async def test_the_same_event_ten_times_at_once_credits_once(
    client: Client, fake_stripe: FakeStripe, run_jobs: RunJobs, resources: Resources
) -> None:
    _, auth = await adult(client)
    deposit = await _deposit(client, auth, 1_000)
    await fake_stripe.pay(_session_id(fake_stripe, deposit))
    completed = fake_stripe.events[-1]

    statuses = await asyncio.gather(*(_deliver(client, completed) for _ in range(10)))
    assert statuses == [200] * 10
    async with unit_of_work(resources) as session:
        stored = await session.scalar(text("SELECT count(*) FROM inbox"))
    assert stored == 1
    await asyncio.gather(run_jobs(), run_jobs())
    assert await _balance(client, auth) == 1_000


@pytest.mark.parametrize(
    ("header", "age"),
    [
        ("bad-signature", 0),
        ("stale", 301),  # older still when it is checked
        ("future", -310),  # still past the window when it is checked, however slow the request
        ("missing", 0),
    ],
)
async def test_forged_stale_or_future_webhooks_are_400_and_nothing_is_stored(
    client: Client, resources: Resources, header: str, age: int
) -> None:
    obj = checkout_session_object(payment_status="paid", status="complete")
    secret = "whsec_wrong" if header == "bad-signature" else WEBHOOK_SECRET
    body, headers = signed_event(
        "checkout.session.completed", obj, secret, timestamp=int(time.time()) - age
    )
    if header == "missing":
        headers.pop("Stripe-Signature")
    response = await client.post("/webhooks/stripe", content=body, headers=headers)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_signature"
    async with unit_of_work(resources) as session:
        assert await session.scalar(text("SELECT count(*) FROM inbox")) == 0


async def test_a_body_changed_after_signing_is_refused(client: Client) -> None:
    body, headers = signed_event(
        "checkout.session.completed", checkout_session_object(), WEBHOOK_SECRET
    )
    tampered = body.replace(b'"amount_total": 1000', b'"amount_total": 9000')
    assert tampered != body
    response = await client.post("/webhooks/stripe", content=tampered, headers=headers)
    assert response.status_code == 400


@pytest.mark.parametrize("depth", [100, 5_000, 100_000])
@pytest.mark.parametrize("secret", [WEBHOOK_SECRET, "whsec_wrong"], ids=["signed", "unsigned"])
async def test_a_webhook_nested_thousands_deep_is_400_and_nothing_is_stored(
    client: Client, resources: Resources, depth: int, secret: str
) -> None:
    event = event_envelope("checkout.session.completed", checkout_session_object())
    event["data"]["object"]["metadata"] = "DEEP"
    # Built by hand: json.dumps itself recurses once per level.
    body = encode_event(event).replace(b'"DEEP"', b"[" * depth + b"]" * depth)
    response = await client.post(
        "/webhooks/stripe", content=body, headers=webhook_headers(body, secret)
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_signature"
    async with unit_of_work(resources) as session:
        assert await session.scalar(text("SELECT count(*) FROM inbox")) == 0


async def test_completed_after_expired_still_credits(
    client: Client, fake_stripe: FakeStripe, run_jobs: RunJobs, resources: Resources
) -> None:
    _, auth = await adult(client)
    deposit = await _deposit(client, auth, 700)
    session_id = _session_id(fake_stripe, deposit)
    session_object = dict(fake_stripe.sessions[session_id])
    await fake_stripe.pay(session_id)
    completed = fake_stripe.events[-1]
    expired = event_envelope(
        "checkout.session.expired", {**session_object, "status": "expired", "url": None}
    )

    await _deliver(client, expired)
    await run_jobs()
    listed = (await client.get("/api/v1/payments/deposits", headers=auth)).json()["deposits"]
    assert listed[0]["status"] == "expired"
    await _deliver(client, completed)
    await run_jobs()
    assert await _balance(client, auth) == 700
    listed = (await client.get("/api/v1/payments/deposits", headers=auth)).json()["deposits"]
    assert listed[0]["status"] == "succeeded"


async def test_expired_or_failed_after_paid_changes_nothing(
    client: Client, fake_stripe: FakeStripe, run_jobs: RunJobs, resources: Resources
) -> None:
    _, auth = await adult(client)
    deposit = await _deposit(client, auth, 900)
    session_id = _session_id(fake_stripe, deposit)
    opened = dict(fake_stripe.sessions[session_id])
    await fake_stripe.pay(session_id)
    await _deliver(client, fake_stripe.events[-1])
    for late in ("checkout.session.expired", "checkout.session.async_payment_failed"):
        await _deliver(client, event_envelope(late, {**opened, "status": "expired"}))
    await run_jobs()
    listed = (await client.get("/api/v1/payments/deposits", headers=auth)).json()["deposits"]
    assert listed[0]["status"] == "succeeded"
    assert await _balance(client, auth) == 900


async def test_delayed_payment_credits_on_success_and_not_on_failure(
    client: Client, fake_stripe: FakeStripe, run_jobs: RunJobs, resources: Resources
) -> None:
    _, auth = await adult(client)
    good = await _deposit(client, auth, 400)
    bad = await _deposit(client, auth, 600)
    for deposit in (good, bad):
        await fake_stripe.pay(_session_id(fake_stripe, deposit), delayed=True)
        await _deliver(client, fake_stripe.events[-1])
    await run_jobs()
    assert await _balance(client, auth) == 0  # completed but unpaid: nothing yet

    await fake_stripe.async_payment_succeeded(_session_id(fake_stripe, good))
    await _deliver(client, fake_stripe.events[-1])
    await fake_stripe.async_payment_failed(_session_id(fake_stripe, bad))
    await _deliver(client, fake_stripe.events[-1])
    await run_jobs()
    assert await _balance(client, auth) == 400
    statuses = {
        d["amount"]: d["status"]
        for d in (await client.get("/api/v1/payments/deposits", headers=auth)).json()["deposits"]
    }
    assert statuses == {400: "succeeded", 600: "failed"}


async def test_a_refund_takes_the_money_back(
    client: Client, fake_stripe: FakeStripe, run_jobs: RunJobs, resources: Resources
) -> None:
    _, auth = await adult(client)
    deposit = await _deposit(client, auth, 1_000)
    session_id = _session_id(fake_stripe, deposit)
    await fake_stripe.pay(session_id)
    await _deliver(client, fake_stripe.events[-1])
    await run_jobs()
    await fake_stripe.refund(session_id, 300)
    await _deliver(client, fake_stripe.events[-1])
    await run_jobs()
    assert await _balance(client, auth) == 700
    await fake_stripe.refund(session_id)  # the rest
    refunded = fake_stripe.events[-1]
    await _deliver(client, refunded)
    await _deliver(client, refunded)
    await run_jobs()
    assert await _balance(client, auth) == 0


async def test_a_refund_after_spending_freezes_the_wallet_and_records_the_debt(
    client: Client,
    fake_stripe: FakeStripe,
    run_jobs: RunJobs,
    resources: Resources,
    settings: Settings,
) -> None:
    user_id, auth = await adult(client)
    deposit = await _deposit(client, auth, 1_000)
    session_id = _session_id(fake_stripe, deposit)
    await fake_stripe.pay(session_id)
    await _deliver(client, fake_stripe.events[-1])
    await run_jobs()
    # Spend 800 of it.
    response = await client.post(
        "/api/v1/payments/withdrawals",
        json={"amount": 800, "currency": "cash:USD"},
        headers={**auth, "Idempotency-Key": "spend"},
    )
    assert response.status_code == 201

    await fake_stripe.dispute(session_id)
    await _deliver(client, fake_stripe.events[-1])
    await run_jobs()

    wallets = (await client.get("/api/v1/me/wallets", headers=auth)).json()["wallets"]
    assert wallets == [{"currency": "cash:USD", "balance": 0, "frozen": True}]
    listed = (await client.get("/api/v1/payments/deposits", headers=auth)).json()["deposits"]
    assert listed[0]["owed_amount"] == 800
    assert listed[0]["refunded_amount"] == 1_000
    # A frozen wallet cannot be spent from.
    async with unit_of_work(resources) as session:
        await fund_wallet(session, user_id, 50)
    blocked = await client.post(
        "/api/v1/payments/withdrawals",
        json={"amount": 100, "currency": "cash:USD"},
        headers={**auth, "Idempotency-Key": "after-freeze"},
    )
    assert blocked.status_code == 403
    assert blocked.json()["error"]["code"] == "wallet_frozen"

    # The 800 held for withdrawal cannot be paid out while the debt is open...
    reviewer = await admin_headers(client, resources, settings)
    held = (await client.get("/api/v1/payments/withdrawals", headers=auth)).json()["withdrawals"][0]
    approve = await client.post(
        f"/api/v1/payments/withdrawals/{held['id']}/approve",
        json={"payout_reference": "po_1"},
        headers=reviewer,
    )
    assert approve.status_code == 403
    assert approve.json()["error"]["code"] == "wallet_frozen"
    # ...and rejecting it returns the money, which pays the debt and unfreezes the wallet.
    reject = await client.post(
        f"/api/v1/payments/withdrawals/{held['id']}/reject",
        json={"reason": "chargeback"},
        headers=reviewer,
    )
    assert reject.status_code == 200, reject.text
    wallets = (await client.get("/api/v1/me/wallets", headers=auth)).json()["wallets"]
    assert wallets == [{"currency": "cash:USD", "balance": 50, "frozen": False}]
    listed = (await client.get("/api/v1/payments/deposits", headers=auth)).json()["deposits"]
    assert (listed[0]["owed_amount"], listed[0]["refunded_amount"]) == (0, 1_000)


async def test_a_refund_arriving_before_its_payment_is_applied_once_the_payment_is(
    client: Client, fake_stripe: FakeStripe, run_jobs: RunJobs, resources: Resources
) -> None:
    _, auth = await adult(client)
    deposit = await _deposit(client, auth, 1_000)
    session_id = _session_id(fake_stripe, deposit)
    await fake_stripe.pay(session_id)
    completed = fake_stripe.events[-1]
    await fake_stripe.refund(session_id, 250)
    refunded = fake_stripe.events[-1]

    await _deliver(client, refunded)
    await run_jobs()  # cannot be placed yet: stays in the inbox for a retry
    async with unit_of_work(resources) as session:
        pending = await session.scalar(text("SELECT count(*) FROM inbox WHERE handled_at IS NULL"))
    assert pending == 1

    await _deliver(client, completed)
    await run_jobs()  # the completed event; the refund's retry is deferred a little
    await asyncio.sleep(2.5)
    await run_jobs()
    assert await _balance(client, auth) == 750


async def test_events_for_unknown_sessions_are_acknowledged_and_ignored(
    client: Client, run_jobs: RunJobs, resources: Resources
) -> None:
    obj = checkout_session_object(payment_status="paid", status="complete")
    assert await _deliver(client, event_envelope("checkout.session.completed", obj)) == 200
    charge = charge_object(payment_intent=None, amount_refunded=10)
    assert await _deliver(client, event_envelope("customer.created", charge)) == 200
    await run_jobs()


async def test_deposits_need_an_adult_not_self_excluded(client: Client) -> None:
    from tests.factories import bearer, register

    auth = bearer((await register(client))["access_token"])
    response = await client.post("/api/v1/payments/deposits", json={"amount": 1_000}, headers=auth)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "age_not_confirmed"

    _, grown_up = await adult(client)
    await client.post("/api/v1/me/self-exclusion", json={"days": 7}, headers=grown_up)
    excluded = await client.post(
        "/api/v1/payments/deposits", json={"amount": 1_000}, headers=grown_up
    )
    assert excluded.status_code == 403
    assert excluded.json()["error"]["code"] == "self_excluded"


@pytest.mark.parametrize(
    "body",
    [
        {"amount": 0},
        {"amount": -5},
        {"amount": 10.5},
        {"amount": "100"},
        {"amount": 10**13},
        {"amount": 1_000, "currency": "USD"},
        {"amount": 1_000, "extra": 1},
    ],
)
async def test_malformed_deposits_are_422(client: Client, body: dict[str, Any]) -> None:
    _, auth = await adult(client)
    response = await client.post("/api/v1/payments/deposits", json=body, headers=auth)
    assert response.status_code == 422, response.text


async def test_unsupported_currency_or_amount_names_the_problem(client: Client) -> None:
    _, auth = await adult(client)
    euro = await client.post(
        "/api/v1/payments/deposits", json={"amount": 1_000, "currency": "cash:EUR"}, headers=auth
    )
    assert euro.status_code == 422
    assert euro.json()["error"]["code"] == "unsupported_currency"
    tiny = await client.post("/api/v1/payments/deposits", json={"amount": 1}, headers=auth)
    assert tiny.json()["error"]["code"] == "amount_out_of_range"


async def test_stripe_down_is_a_clear_error_and_creates_nothing(
    client: Client, fake_stripe: FakeStripe, resources: Resources
) -> None:
    _, auth = await adult(client)
    fake_stripe.fail_next(10, status=503)
    response = await client.post("/api/v1/payments/deposits", json={"amount": 1_000}, headers=auth)
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "payment_provider_unavailable"
    async with unit_of_work(resources) as session:
        assert await session.scalar(text("SELECT count(*) FROM deposits")) == 0


async def test_concurrent_deposits_never_pass_the_daily_limit(
    client: Client, resources: Resources
) -> None:
    _, auth = await adult(client)
    await client.put(
        "/api/v1/me/limits/deposit", json={"period": "day", "amount": 5_000}, headers=auth
    )
    responses = await asyncio.gather(
        *(
            client.post("/api/v1/payments/deposits", json={"amount": 1_000}, headers=auth)
            for _ in range(12)
        )
    )
    codes = sorted(r.status_code for r in responses)
    assert codes.count(201) == 5
    assert all(
        r.json()["error"]["code"] == "deposit_limit_exceeded"
        for r in responses
        if r.status_code != 201
    )
    refused = next(r.json()["error"] for r in responses if r.status_code != 201)
    assert refused["message"].startswith("This deposit would pass your daily deposit limit of 5000")
    async with unit_of_work(resources) as session:
        total = await session.scalar(text("SELECT sum(amount) FROM deposits"))
    assert total == 5_000
