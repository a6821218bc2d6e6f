"""Stripe's events about one deposit in the orders and at the times Stripe may send them: a
delayed payment's result before its checkout event, a dispute before the payment, a refund and a
dispute of one charge, and two events handled by jobs running at the same time. Whatever the
order or the timing, a deposit ends as the README's table says."""

import asyncio
from typing import Any

import httpx
import pytest
from arq import Retry
from arq.constants import default_queue_name
from arq.utils import timestamp_ms
from sqlalchemy import text

from app.inbox.tasks import handle_inbox_event
from app.kit.resources import Resources
from app.kit.uow import unit_of_work
from tests.conftest import RunJobs
from tests.factories import fund_wallet
from tests.fakes.stripe import (
    FakeStripe,
    dispute_object,
    encode_event,
    event_envelope,
    webhook_headers,
)
from tests.payment.conftest import WEBHOOK_SECRET, adult

Client = httpx.AsyncClient
Auth = dict[str, str]
Event = dict[str, Any]

#: What the user holds besides the deposit: money taken back twice would come out of it.
SAVINGS = 500
#: How the jobs of a race meet: both in flight at once (held on the rows they need), or freely.
TIMINGS = ["in-flight", "free"]


# --- Stripe's side ------------------------------------------------------------------------------


async def _deliver(client: Client, *events: Event) -> None:
    """Post each event to the webhook as Stripe does: its exact bytes, signed."""
    for event in events:
        body = encode_event(event)
        response = await client.post(
            "/webhooks/stripe", content=body, headers=webhook_headers(body, WEBHOOK_SECRET)
        )
        assert response.status_code == 200, response.text


async def _start_deposit(
    client: Client, fake: FakeStripe, auth: Auth, amount: int = 1_000
) -> tuple[int, str]:
    """A new deposit and the id of its Checkout Session."""
    response = await client.post(
        "/api/v1/payments/deposits", json={"amount": amount, "currency": "cash:USD"}, headers=auth
    )
    assert response.status_code == 201, response.text
    deposit_id = int(response.json()["id"])
    session_id = next(
        s["id"] for s in fake.sessions.values() if s["client_reference_id"] == str(deposit_id)
    )
    return deposit_id, str(session_id)


async def _paid_deposit(
    client: Client, fake: FakeStripe, auth: Auth, run_jobs: RunJobs
) -> tuple[int, str]:
    """A deposit of 1 000 paid by card and credited."""
    deposit_id, session_id = await _start_deposit(client, fake, auth)
    await fake.pay(session_id)
    await _deliver(client, fake.events[-1])
    await run_jobs()
    return deposit_id, session_id


async def _partial_dispute(fake: FakeStripe, session_id: str, amount: int) -> Event:
    """``charge.dispute.created`` for part of the session's charge (as an issuer files once it
    has corrected a dispute of a partly refunded charge)."""
    payment_intent = fake.sessions[session_id]["payment_intent"]
    charge = next(c for c in fake.charges.values() if c["payment_intent"] == payment_intent)
    dispute = dispute_object(
        charge=charge["id"], payment_intent=payment_intent, amount=amount, currency="usd"
    )
    return event_envelope("charge.dispute.created", dispute)


# --- What the user and the books see ------------------------------------------------------------


async def _saver(client: Client, resources: Resources) -> tuple[Auth, int]:
    """An adult holding SAVINGS in their cash wallet: their auth and the wallet's id."""
    user_id, auth = await adult(client)
    async with unit_of_work(resources) as session:
        wallet = await fund_wallet(session, user_id, SAVINGS)
    return auth, wallet


async def _wallet(client: Client, auth: Auth) -> dict[str, Any]:
    wallets = (await client.get("/api/v1/me/wallets", headers=auth)).json()["wallets"]
    empty = {"currency": "cash:USD", "balance": 0, "frozen": False}
    found: dict[str, Any] = next((w for w in wallets if w["currency"] == "cash:USD"), empty)
    return found


async def _deposit(client: Client, auth: Auth, deposit_id: int) -> dict[str, Any]:
    listed = (await client.get("/api/v1/payments/deposits", headers=auth)).json()
    found: dict[str, Any] = next(d for d in listed if d["id"] == deposit_id)
    return found


async def _movements(client: Client, auth: Auth, deposit_id: int) -> tuple[list[int], list[int]]:
    """The deposit's credits to the wallet and the amounts taken back from it, oldest first."""
    response = await client.get(
        "/api/v1/me/wallets/cash:USD/entries", params={"limit": 200}, headers=auth
    )
    if response.status_code == 404:  # never credited: no wallet
        return [], []
    entries = [
        e for e in reversed(response.json()["entries"]) if e["memo"] == {"deposit_id": deposit_id}
    ]
    credits = [e["amount"] for e in entries if e["reason"] == "deposit"]
    taken_back = [-e["amount"] for e in entries if e["reason"] == "deposit_reversal"]
    return credits, taken_back


# --- The inbox and its jobs ---------------------------------------------------------------------


async def _waiting(resources: Resources) -> list[tuple[str, int]]:
    """Stored events not applied yet, as (type, attempts so far)."""
    async with unit_of_work(resources) as session:
        rows = await session.execute(
            text("SELECT event_type, attempts FROM inbox WHERE handled_at IS NULL ORDER BY id")
        )
        return [(str(kind), int(attempts)) for kind, attempts in rows]


async def _inbox_id(resources: Resources, event: Event) -> int:
    async with unit_of_work(resources) as session:
        found = await session.scalar(
            text("SELECT id FROM inbox WHERE source = 'stripe' AND external_id = :id"),
            {"id": event["id"]},
        )
    assert found is not None
    return int(found)


async def _deferred_jobs(resources: Resources) -> list[bytes]:
    """Jobs arq holds back for later: retries waiting for their backoff."""
    later: list[bytes] = await resources.jobs.zrangebyscore(
        default_queue_name, timestamp_ms() + 1, "+inf"
    )
    return later


async def _run_retries(resources: Resources, run_jobs: RunJobs) -> None:
    """Run the retries arq deferred, as if their backoff had passed (``run_jobs`` leaves jobs
    due in the future queued)."""
    if deferred := await _deferred_jobs(resources):
        now = timestamp_ms()
        await resources.jobs.zadd(default_queue_name, dict.fromkeys(deferred, now), xx=True)
    await run_jobs()


async def _handle_at_once(
    resources: Resources, events: list[Event], *, hold: tuple[int, int] | None
) -> None:
    """Handle the events' inbox rows in concurrent ``inbox.handle`` jobs, each with its own unit
    of work. With ``hold`` (a deposit id, a wallet id) those two rows are held, as a concurrent
    transaction would, until every job waits for one of them or is done: the jobs are then in
    flight at the same time, whatever the scheduler does. A job may ask to be retried (an event
    that cannot be placed yet); the caller runs the queued jobs afterwards."""
    ids = [await _inbox_id(resources, event) for event in events]
    ctx: dict[str, Any] = {"resources": resources}
    if hold is None:
        outcomes = await asyncio.gather(
            *(handle_inbox_event(ctx, inbox_id) for inbox_id in ids), return_exceptions=True
        )
    else:
        deposit_id, wallet_id = hold
        async with resources.sessionmaker() as holder:
            await holder.execute(
                text("SELECT 1 FROM deposits WHERE id = :id FOR UPDATE"), {"id": deposit_id}
            )
            await holder.execute(
                text("SELECT 1 FROM accounts WHERE id = :id FOR UPDATE"), {"id": wallet_id}
            )
            jobs = [asyncio.create_task(handle_inbox_event(ctx, inbox_id)) for inbox_id in ids]
            try:
                stalled = await _until_stalled(resources, jobs)
            finally:
                await holder.rollback()
                outcomes = await asyncio.gather(*jobs, return_exceptions=True)
        assert stalled, "the jobs never reached the rows held for them"
    for outcome in outcomes:
        if isinstance(outcome, BaseException) and not isinstance(outcome, Retry):
            raise outcome


async def _until_stalled(resources: Resources, jobs: list[asyncio.Task[bool]]) -> bool:
    """Wait until every job is done or waiting for a lock; False after 10 s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while loop.time() < deadline:
        async with resources.sessionmaker() as probe:
            waiting = await probe.scalar(
                text("SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted")
            )
        if int(waiting or 0) + sum(job.done() for job in jobs) >= len(jobs):
            return True
        await asyncio.sleep(0.01)
    return False


# --- 1. A delayed payment's result before its checkout event ------------------------------------


@pytest.mark.parametrize("outcome", ["succeeded", "failed"])
@pytest.mark.parametrize("result_first", [True, False], ids=["result-first", "checkout-first"])
async def test_a_delayed_payment_ends_the_same_whichever_of_its_events_comes_first(
    client: Client,
    fake_stripe: FakeStripe,
    run_jobs: RunJobs,
    resources: Resources,
    outcome: str,
    result_first: bool,
) -> None:
    _, auth = await adult(client)
    deposit_id, session_id = await _start_deposit(client, fake_stripe, auth, 800)
    await fake_stripe.pay(session_id, delayed=True)
    completed = fake_stripe.events[-1]
    assert completed["data"]["object"]["payment_status"] == "unpaid"
    if outcome == "succeeded":
        await fake_stripe.async_payment_succeeded(session_id)
    else:
        await fake_stripe.async_payment_failed(session_id)
    result = fake_stripe.events[-1]

    first, second = (result, completed) if result_first else (completed, result)
    await _deliver(client, first)
    await run_jobs()
    expected_status = outcome if result_first else "pending"
    assert (await _deposit(client, auth, deposit_id))["status"] == expected_status
    await _deliver(client, second)
    await run_jobs()
    await _deliver(client, result, completed)  # Stripe's redeliveries change nothing
    await run_jobs()

    credited = 800 if outcome == "succeeded" else 0
    deposit = await _deposit(client, auth, deposit_id)
    assert (deposit["status"], deposit["refunded_amount"]) == (outcome, 0)
    assert await _wallet(client, auth) == {
        "currency": "cash:USD",
        "balance": credited,
        "frozen": False,
    }
    assert await _movements(client, auth, deposit_id) == ([credited] if credited else [], [])
    assert await _waiting(resources) == []


# --- 2. A dispute before its payment ------------------------------------------------------------


async def test_a_dispute_before_its_payment_is_retried_and_taken_back_once(
    client: Client, fake_stripe: FakeStripe, run_jobs: RunJobs, resources: Resources
) -> None:
    auth, _ = await _saver(client, resources)
    deposit_id, session_id = await _start_deposit(client, fake_stripe, auth)
    await fake_stripe.pay(session_id)
    completed = fake_stripe.events[-1]
    await fake_stripe.dispute(session_id)
    disputed = fake_stripe.events[-1]

    await _deliver(client, disputed)
    await run_jobs()
    # Nothing to take it from yet: the event stays in the inbox, its job deferred by arq.
    assert await _waiting(resources) == [("charge.dispute.created", 1)]
    assert len(await _deferred_jobs(resources)) == 1
    assert (await _wallet(client, auth))["balance"] == SAVINGS

    await _deliver(client, completed)
    await run_jobs()
    assert (await _wallet(client, auth))["balance"] == SAVINGS + 1_000  # retry not due yet
    await _run_retries(resources, run_jobs)
    assert await _waiting(resources) == []

    await _deliver(client, disputed, completed)  # redeliveries
    await run_jobs()
    await _run_retries(resources, run_jobs)
    assert await _wallet(client, auth) == {
        "currency": "cash:USD",
        "balance": SAVINGS,
        "frozen": False,
    }
    deposit = await _deposit(client, auth, deposit_id)
    assert (deposit["status"], deposit["refunded_amount"], deposit["owed_amount"]) == (
        "succeeded",
        1_000,
        0,
    )
    assert await _movements(client, auth, deposit_id) == ([1_000], [1_000])


async def test_a_dispute_before_a_delayed_payment_s_success_is_taken_back_on_the_credit(
    client: Client, fake_stripe: FakeStripe, run_jobs: RunJobs, resources: Resources
) -> None:
    auth, _ = await _saver(client, resources)
    deposit_id, session_id = await _start_deposit(client, fake_stripe, auth)
    await fake_stripe.pay(session_id, delayed=True)
    await _deliver(client, fake_stripe.events[-1])
    await run_jobs()
    await fake_stripe.async_payment_succeeded(session_id)
    succeeded = fake_stripe.events[-1]
    await fake_stripe.dispute(session_id)

    await _deliver(client, fake_stripe.events[-1])  # the dispute, before the success
    await run_jobs()
    assert await _waiting(resources) == []  # placed: its payment intent is known
    assert (await _wallet(client, auth))["balance"] == SAVINGS
    await _deliver(client, succeeded)
    await run_jobs()

    assert await _wallet(client, auth) == {
        "currency": "cash:USD",
        "balance": SAVINGS,
        "frozen": False,
    }
    deposit = await _deposit(client, auth, deposit_id)
    assert (deposit["status"], deposit["refunded_amount"], deposit["owed_amount"]) == (
        "succeeded",
        1_000,
        0,
    )
    assert await _movements(client, auth, deposit_id) == ([1_000], [1_000])


# --- 3. Refunds and disputes of one charge ------------------------------------------------------


@pytest.mark.parametrize("refund", [1_000, 300], ids=["full-refund", "partial-refund"])
@pytest.mark.parametrize("dispute_first", [False, True], ids=["refund-first", "dispute-first"])
async def test_a_refund_and_a_full_dispute_of_one_charge_take_the_money_back_once(
    client: Client,
    fake_stripe: FakeStripe,
    run_jobs: RunJobs,
    resources: Resources,
    refund: int,
    dispute_first: bool,
) -> None:
    auth, _ = await _saver(client, resources)
    deposit_id, session_id = await _paid_deposit(client, fake_stripe, auth, run_jobs)
    await fake_stripe.refund(session_id, refund)
    refunded = fake_stripe.events[-1]
    await fake_stripe.dispute(session_id)  # the customer's bank disputes the whole charge
    disputed = fake_stripe.events[-1]
    assert disputed["data"]["object"]["amount"] == 1_000

    for event in (disputed, refunded) if dispute_first else (refunded, disputed):
        await _deliver(client, event)
        await run_jobs()

    assert await _wallet(client, auth) == {
        "currency": "cash:USD",
        "balance": SAVINGS,
        "frozen": False,
    }
    deposit = await _deposit(client, auth, deposit_id)
    assert (deposit["status"], deposit["refunded_amount"], deposit["owed_amount"]) == (
        "succeeded",
        1_000,
        0,
    )
    credits, taken_back = await _movements(client, auth, deposit_id)
    assert (credits, sum(taken_back)) == ([1_000], 1_000)


@pytest.mark.parametrize("dispute_first", [False, True], ids=["refund-first", "dispute-first"])
async def test_a_dispute_of_what_a_partial_refund_left_takes_back_the_rest(
    client: Client,
    fake_stripe: FakeStripe,
    run_jobs: RunJobs,
    resources: Resources,
    dispute_first: bool,
) -> None:
    """300 refunded, then the remaining 700 disputed: the customer got all 1 000 back from
    Stripe, so all 1 000 leave the wallet."""
    auth, _ = await _saver(client, resources)
    deposit_id, session_id = await _paid_deposit(client, fake_stripe, auth, run_jobs)
    await fake_stripe.refund(session_id, 300)
    refunded = fake_stripe.events[-1]
    disputed = await _partial_dispute(fake_stripe, session_id, 700)

    for event in (disputed, refunded) if dispute_first else (refunded, disputed):
        await _deliver(client, event)
        await run_jobs()

    assert await _wallet(client, auth) == {
        "currency": "cash:USD",
        "balance": SAVINGS,
        "frozen": False,
    }
    deposit = await _deposit(client, auth, deposit_id)
    assert (deposit["refunded_amount"], deposit["owed_amount"]) == (1_000, 0)
    assert sum((await _movements(client, auth, deposit_id))[1]) == 1_000


@pytest.mark.parametrize(
    ("refund", "taken", "owed"),
    [(1_000, 400, 600), (500, 400, 100), (300, 300, 0)],
    ids=["full-refund", "refund-beyond-balance", "refund-within-balance"],
)
async def test_a_refund_after_a_partial_spend_freezes_the_wallet_and_owes_the_shortfall(
    client: Client,
    fake_stripe: FakeStripe,
    run_jobs: RunJobs,
    resources: Resources,
    refund: int,
    taken: int,
    owed: int,
) -> None:
    _, auth = await adult(client)
    deposit_id, session_id = await _paid_deposit(client, fake_stripe, auth, run_jobs)
    spent = await client.post(
        "/api/v1/payments/withdrawals",
        json={"amount": 600, "currency": "cash:USD"},
        headers={**auth, "Idempotency-Key": "spend-600"},
    )
    assert spent.status_code == 201, spent.text

    await fake_stripe.refund(session_id, refund)
    await _deliver(client, fake_stripe.events[-1])
    await run_jobs()
    assert await _wallet(client, auth) == {
        "currency": "cash:USD",
        "balance": 400 - taken,
        "frozen": owed > 0,
    }
    deposit = await _deposit(client, auth, deposit_id)
    assert (deposit["refunded_amount"], deposit["owed_amount"]) == (refund, owed)
    assert await _movements(client, auth, deposit_id) == ([1_000], [taken])

    # The bank then disputes the whole charge: what is left is owed, nothing is counted twice.
    await fake_stripe.dispute(session_id)
    await _deliver(client, fake_stripe.events[-1])
    await run_jobs()
    assert await _wallet(client, auth) == {"currency": "cash:USD", "balance": 0, "frozen": True}
    deposit = await _deposit(client, auth, deposit_id)
    assert (deposit["refunded_amount"], deposit["owed_amount"]) == (1_000, 600)
    assert sum((await _movements(client, auth, deposit_id))[1]) == 400


# --- 4. Two events about one deposit handled at the same time -----------------------------------


@pytest.mark.parametrize("timing", TIMINGS)
async def test_the_checkout_event_and_the_payment_s_success_at_once_credit_once(
    client: Client,
    fake_stripe: FakeStripe,
    run_jobs: RunJobs,
    resources: Resources,
    timing: str,
) -> None:
    auth, wallet = await _saver(client, resources)
    deposit_id, session_id = await _start_deposit(client, fake_stripe, auth)
    await fake_stripe.pay(session_id, delayed=True)
    completed = fake_stripe.events[-1]
    await fake_stripe.async_payment_succeeded(session_id)
    succeeded = fake_stripe.events[-1]
    await _deliver(client, completed, succeeded)

    hold = (deposit_id, wallet) if timing == "in-flight" else None
    await _handle_at_once(resources, [completed, succeeded], hold=hold)
    await run_jobs()
    await _run_retries(resources, run_jobs)

    assert await _waiting(resources) == []
    assert await _wallet(client, auth) == {
        "currency": "cash:USD",
        "balance": SAVINGS + 1_000,
        "frozen": False,
    }
    assert (await _deposit(client, auth, deposit_id))["status"] == "succeeded"
    assert await _movements(client, auth, deposit_id) == ([1_000], [])


@pytest.mark.parametrize("timing", TIMINGS)
async def test_a_payment_and_its_refund_at_once_end_refunded(
    client: Client,
    fake_stripe: FakeStripe,
    run_jobs: RunJobs,
    resources: Resources,
    timing: str,
) -> None:
    auth, wallet = await _saver(client, resources)
    deposit_id, session_id = await _start_deposit(client, fake_stripe, auth)
    await fake_stripe.pay(session_id)
    completed = fake_stripe.events[-1]
    await fake_stripe.refund(session_id, 400)
    refunded = fake_stripe.events[-1]
    await _deliver(client, completed, refunded)

    hold = (deposit_id, wallet) if timing == "in-flight" else None
    await _handle_at_once(resources, [completed, refunded], hold=hold)
    await run_jobs()  # the refund again, if it came before its payment was placed
    await _run_retries(resources, run_jobs)

    assert await _waiting(resources) == []
    assert await _wallet(client, auth) == {
        "currency": "cash:USD",
        "balance": SAVINGS + 600,
        "frozen": False,
    }
    deposit = await _deposit(client, auth, deposit_id)
    assert (deposit["status"], deposit["refunded_amount"], deposit["owed_amount"]) == (
        "succeeded",
        400,
        0,
    )
    assert await _movements(client, auth, deposit_id) == ([1_000], [400])


@pytest.mark.parametrize("timing", TIMINGS)
async def test_a_delayed_payment_s_success_and_its_refund_at_once_end_refunded(
    client: Client,
    fake_stripe: FakeStripe,
    run_jobs: RunJobs,
    resources: Resources,
    timing: str,
) -> None:
    """Without the deposit's row lock the refund job reads the deposit as unpaid while the
    success job credits it: the refund is recorded but never taken back."""
    auth, wallet = await _saver(client, resources)
    deposit_id, session_id = await _start_deposit(client, fake_stripe, auth)
    await fake_stripe.pay(session_id, delayed=True)
    await _deliver(client, fake_stripe.events[-1])
    await run_jobs()
    await fake_stripe.async_payment_succeeded(session_id)
    succeeded = fake_stripe.events[-1]
    await fake_stripe.refund(session_id)
    refunded = fake_stripe.events[-1]
    await _deliver(client, succeeded, refunded)

    hold = (deposit_id, wallet) if timing == "in-flight" else None
    await _handle_at_once(resources, [succeeded, refunded], hold=hold)
    await run_jobs()
    await _run_retries(resources, run_jobs)

    assert await _waiting(resources) == []
    assert await _wallet(client, auth) == {
        "currency": "cash:USD",
        "balance": SAVINGS,
        "frozen": False,
    }
    deposit = await _deposit(client, auth, deposit_id)
    assert (deposit["status"], deposit["refunded_amount"], deposit["owed_amount"]) == (
        "succeeded",
        1_000,
        0,
    )
    assert await _movements(client, auth, deposit_id) == ([1_000], [1_000])


@pytest.mark.parametrize("timing", TIMINGS)
async def test_a_refund_and_a_dispute_at_once_take_the_money_back_once(
    client: Client,
    fake_stripe: FakeStripe,
    run_jobs: RunJobs,
    resources: Resources,
    timing: str,
) -> None:
    """Without the deposit's row lock both jobs read nothing taken back yet, and the second
    takes what it finds in the wallet again: 1 500 gone for a 1 000 deposit."""
    auth, wallet = await _saver(client, resources)
    deposit_id, session_id = await _paid_deposit(client, fake_stripe, auth, run_jobs)
    await fake_stripe.refund(session_id)
    refunded = fake_stripe.events[-1]
    await fake_stripe.dispute(session_id)
    disputed = fake_stripe.events[-1]
    await _deliver(client, refunded, disputed)

    hold = (deposit_id, wallet) if timing == "in-flight" else None
    await _handle_at_once(resources, [refunded, disputed], hold=hold)
    await run_jobs()
    await _run_retries(resources, run_jobs)

    assert await _waiting(resources) == []
    assert await _wallet(client, auth) == {
        "currency": "cash:USD",
        "balance": SAVINGS,
        "frozen": False,
    }
    deposit = await _deposit(client, auth, deposit_id)
    assert (deposit["refunded_amount"], deposit["owed_amount"]) == (1_000, 0)
    assert await _movements(client, auth, deposit_id) == ([1_000], [1_000])
