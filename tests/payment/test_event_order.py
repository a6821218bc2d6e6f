"""Stripe's events about one deposit in the orders and at the times Stripe may send them: a
delayed payment's result before its checkout event, a dispute before the payment, a refund and a
dispute of one charge, and two events handled by jobs running at the same time. Whatever the
order or the timing, a deposit ends as the README's table says.

Each scenario is a row: what happens at Stripe, which of its events reach the webhook and when
(the jobs run after each delivery), what the user sees on the way, and the end state (the
deposit, the wallet and its entries). The suite checks the ledger's invariants after each."""

import asyncio
from dataclasses import dataclass, field
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


# --- The table's vocabulary ---------------------------------------------------------------------


@dataclass(frozen=True)
class AtStripe:
    """Something happens at Stripe; its event is kept under the name ``EVENT_OF[action]``.
    ``shows``: fields the event's object must carry."""

    action: str  # pay | pay-delayed | succeed | fail | refund | dispute
    amount: int | None = None  # refund: all that is left by default; dispute: the whole charge
    shows: dict[str, Any] = field(default_factory=dict)


EVENT_OF = {
    "pay": "completed",
    "pay-delayed": "completed",
    "succeed": "succeeded",
    "fail": "failed",
    "refund": "refunded",
    "dispute": "disputed",
}


@dataclass(frozen=True)
class Deliver:
    """These events reach the webhook, in this order; then the due jobs run."""

    events: tuple[str, ...]


@dataclass(frozen=True)
class AtOnce:
    """These events reach the webhook, then are handled by concurrent jobs (in flight at once or
    freely, as the race's timing says); then the due jobs and the deferred retries run."""

    events: tuple[str, ...]


@dataclass(frozen=True)
class RunRetries:
    """The retries arq deferred run, as if their backoff had passed."""


@dataclass(frozen=True)
class Spend:
    """The user withdraws ``amount``: money that is no longer in the wallet."""

    amount: int


@dataclass(frozen=True)
class Sees:
    """What the user and the inbox show at this point (``None``: not looked at). With
    ``frozen``, ``balance`` is checked as the whole wallet."""

    balance: int | None = None
    frozen: bool | None = None
    status: str | None = None
    refunded: int | None = None
    owed: int | None = None
    movements: tuple[list[int], list[int]] | None = None  # credits, amounts taken back
    credited: list[int] | None = None
    taken_back: int | None = None  # in total
    waiting: list[tuple[str, int]] | None = None  # (event type, attempts) not applied yet
    deferred: int | None = None  # jobs arq holds back for later


Step = AtStripe | Deliver | AtOnce | RunRetries | Spend | Sees


def deliver(*events: str) -> Deliver:
    return Deliver(events)


def at_once(*events: str) -> AtOnce:
    return AtOnce(events)


#: A deposit of 1 000 paid by card and credited.
PAID: tuple[Step, ...] = (AtStripe("pay"), deliver("completed"))


@dataclass(frozen=True)
class Scenario:
    id: str
    steps: tuple[Step, ...]
    end: Sees
    saver: bool = True  # the user holds SAVINGS before the deposit (else nothing)
    amount: int = 1_000  # the deposit
    why: str = ""


# --- 1. A delayed payment's result before its checkout event ------------------------------------


def _delayed_payment(outcome: str, result_first: bool) -> Scenario:
    result = "succeed" if outcome == "succeeded" else "fail"
    first, second = ("result", "completed") if result_first else ("completed", "result")
    name = {"result": EVENT_OF[result], "completed": "completed"}
    credited = 800 if outcome == "succeeded" else 0
    return Scenario(
        f"delayed-{outcome}-{'result' if result_first else 'checkout'}-first",
        (
            AtStripe("pay-delayed", shows={"payment_status": "unpaid"}),
            AtStripe(result),
            deliver(name[first]),
            Sees(status=outcome if result_first else "pending"),
            deliver(name[second]),
            deliver(name["result"], "completed"),  # Stripe's redeliveries change nothing
        ),
        Sees(
            balance=credited,
            frozen=False,
            status=outcome,
            refunded=0,
            movements=([credited] if credited else [], []),
            waiting=[],
        ),
        saver=False,
        amount=800,
    )


DELAYED_PAYMENTS = [
    _delayed_payment(outcome, result_first)
    for result_first in (True, False)
    for outcome in ("succeeded", "failed")
]

# --- 2. A dispute before its payment ------------------------------------------------------------

DISPUTES_BEFORE_PAYMENT = [
    Scenario(
        "dispute-before-payment-retried",
        (
            AtStripe("pay"),
            AtStripe("dispute"),
            deliver("disputed"),
            # Nothing to take it from yet: the event stays in the inbox, its job deferred by arq.
            Sees(waiting=[("charge.dispute.created", 1)], deferred=1, balance=SAVINGS),
            deliver("completed"),
            Sees(balance=SAVINGS + 1_000),  # the retry is not due yet
            RunRetries(),
            Sees(waiting=[]),
            deliver("disputed", "completed"),  # redeliveries
            RunRetries(),
        ),
        Sees(
            balance=SAVINGS,
            frozen=False,
            status="succeeded",
            refunded=1_000,
            owed=0,
            movements=([1_000], [1_000]),
        ),
    ),
    Scenario(
        "dispute-before-delayed-success",
        (
            AtStripe("pay-delayed"),
            deliver("completed"),
            AtStripe("succeed"),
            AtStripe("dispute"),
            deliver("disputed"),  # before the success
            Sees(waiting=[], balance=SAVINGS),  # placed: its payment intent is known
            deliver("succeeded"),
        ),
        Sees(
            balance=SAVINGS,
            frozen=False,
            status="succeeded",
            refunded=1_000,
            owed=0,
            movements=([1_000], [1_000]),
        ),
        why="The dispute is taken back on the credit.",
    ),
]

# --- 3. Refunds and disputes of one charge ------------------------------------------------------


def _refund_and_full_dispute(refund: int, dispute_first: bool) -> Scenario:
    order = ("disputed", "refunded") if dispute_first else ("refunded", "disputed")
    return Scenario(
        f"{'dispute' if dispute_first else 'refund'}-first-"
        f"{'full' if refund == 1_000 else 'partial'}-refund-full-dispute",
        (
            *PAID,
            AtStripe("refund", refund),
            # The customer's bank disputes the whole charge.
            AtStripe("dispute", shows={"amount": 1_000}),
            *(deliver(event) for event in order),
        ),
        Sees(
            balance=SAVINGS,
            frozen=False,
            status="succeeded",
            refunded=1_000,
            owed=0,
            credited=[1_000],
            taken_back=1_000,
        ),
        why="A refund and a full dispute of one charge take the money back once.",
    )


def _dispute_of_the_rest(dispute_first: bool) -> Scenario:
    order = ("disputed", "refunded") if dispute_first else ("refunded", "disputed")
    return Scenario(
        f"{'dispute' if dispute_first else 'refund'}-first-partial-refund-dispute-of-the-rest",
        (*PAID, AtStripe("refund", 300), AtStripe("dispute", 700), *(deliver(e) for e in order)),
        Sees(balance=SAVINGS, frozen=False, refunded=1_000, owed=0, taken_back=1_000),
        why="300 refunded, then the remaining 700 disputed: the customer got all 1 000 back "
        "from Stripe, so all 1 000 leave the wallet.",
    )


def _refund_after_a_spend(name: str, refund: int, taken: int, owed: int) -> Scenario:
    return Scenario(
        f"spent-600-then-{name}",
        (
            *PAID,
            Spend(600),
            AtStripe("refund", refund),
            deliver("refunded"),
            Sees(
                balance=400 - taken,
                frozen=owed > 0,
                refunded=refund,
                owed=owed,
                movements=([1_000], [taken]),
            ),
            # The bank then disputes the whole charge: what is left is owed, nothing is counted
            # twice.
            AtStripe("dispute"),
            deliver("disputed"),
        ),
        Sees(balance=0, frozen=True, refunded=1_000, owed=600, taken_back=400),
        saver=False,
        why="A refund after a partial spend freezes the wallet and owes the shortfall.",
    )


REFUNDS_AND_DISPUTES = (
    [
        _refund_and_full_dispute(refund, dispute_first)
        for dispute_first in (False, True)
        for refund in (1_000, 300)
    ]
    + [_dispute_of_the_rest(dispute_first) for dispute_first in (False, True)]
    + [
        _refund_after_a_spend("full-refund", 1_000, 400, 600),
        _refund_after_a_spend("refund-beyond-balance", 500, 400, 100),
        _refund_after_a_spend("refund-within-balance", 300, 300, 0),
    ]
)

# --- 4. Two events about one deposit handled at the same time -----------------------------------

RACES = [
    Scenario(
        "checkout-and-delayed-success-credit-once",
        (AtStripe("pay-delayed"), AtStripe("succeed"), at_once("completed", "succeeded")),
        Sees(
            balance=SAVINGS + 1_000,
            frozen=False,
            status="succeeded",
            movements=([1_000], []),
            waiting=[],
        ),
    ),
    Scenario(
        "payment-and-refund-end-refunded",
        # The refund's job runs again if it came before its payment was placed.
        (AtStripe("pay"), AtStripe("refund", 400), at_once("completed", "refunded")),
        Sees(
            balance=SAVINGS + 600,
            frozen=False,
            status="succeeded",
            refunded=400,
            owed=0,
            movements=([1_000], [400]),
            waiting=[],
        ),
    ),
    Scenario(
        "delayed-success-and-refund-end-refunded",
        (
            AtStripe("pay-delayed"),
            deliver("completed"),
            AtStripe("succeed"),
            AtStripe("refund"),
            at_once("succeeded", "refunded"),
        ),
        Sees(
            balance=SAVINGS,
            frozen=False,
            status="succeeded",
            refunded=1_000,
            owed=0,
            movements=([1_000], [1_000]),
            waiting=[],
        ),
        why="Without the deposit's row lock the refund job reads the deposit as unpaid while "
        "the success job credits it: the refund is recorded but never taken back.",
    ),
    Scenario(
        "refund-and-dispute-take-back-once",
        (*PAID, AtStripe("refund"), AtStripe("dispute"), at_once("refunded", "disputed")),
        Sees(
            balance=SAVINGS,
            frozen=False,
            refunded=1_000,
            owed=0,
            movements=([1_000], [1_000]),
            waiting=[],
        ),
        why="Without the deposit's row lock both jobs read nothing taken back yet, and the "
        "second takes what it finds in the wallet again: 1 500 gone for a 1 000 deposit.",
    ),
]


def _ids(scenarios: list[Scenario]) -> list[str]:
    return [scenario.id for scenario in scenarios]


# --- The tests ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "scenario",
    DELAYED_PAYMENTS + DISPUTES_BEFORE_PAYMENT + REFUNDS_AND_DISPUTES,
    ids=_ids(DELAYED_PAYMENTS + DISPUTES_BEFORE_PAYMENT + REFUNDS_AND_DISPUTES),
)
async def test_a_deposit_ends_as_the_readme_says_whatever_the_order_of_its_events(
    client: Client,
    fake_stripe: FakeStripe,
    run_jobs: RunJobs,
    resources: Resources,
    scenario: Scenario,
) -> None:
    await _play(scenario, Run(client, fake_stripe, run_jobs, resources))


@pytest.mark.parametrize("timing", TIMINGS)
@pytest.mark.parametrize("scenario", RACES, ids=_ids(RACES))
async def test_two_events_of_one_deposit_handled_at_once_end_as_one_after_the_other(
    client: Client,
    fake_stripe: FakeStripe,
    run_jobs: RunJobs,
    resources: Resources,
    scenario: Scenario,
    timing: str,
) -> None:
    await _play(scenario, Run(client, fake_stripe, run_jobs, resources, timing))


# --- Playing a row ------------------------------------------------------------------------------


@dataclass
class Run:
    client: Client
    fake: FakeStripe
    run_jobs: RunJobs
    resources: Resources
    timing: str | None = None
    events: dict[str, Event] = field(default_factory=dict)


async def _play(scenario: Scenario, run: Run) -> None:
    if scenario.saver:
        auth, wallet = await _saver(run.client, run.resources)
    else:
        _, auth = await adult(run.client)
        wallet = None
    deposit_id, session_id = await _start_deposit(run.client, run.fake, auth, scenario.amount)
    for step in scenario.steps:
        if isinstance(step, AtStripe):
            event = await _at_stripe(run.fake, session_id, step)
            run.events[EVENT_OF[step.action]] = event
            for name, value in step.shows.items():
                assert event["data"]["object"][name] == value, (step, name)
        elif isinstance(step, Deliver):
            await _deliver(run.client, *(run.events[name] for name in step.events))
            await run.run_jobs()
        elif isinstance(step, AtOnce):
            assert run.timing is not None and wallet is not None
            events = [run.events[name] for name in step.events]
            await _deliver(run.client, *events)
            hold = (deposit_id, wallet) if run.timing == "in-flight" else None
            await _handle_at_once(run.resources, events, hold=hold)
            await run.run_jobs()
            await _run_retries(run.resources, run.run_jobs)
        elif isinstance(step, RunRetries):
            await _run_retries(run.resources, run.run_jobs)
        elif isinstance(step, Spend):
            spent = await run.client.post(
                "/api/v1/payments/withdrawals",
                json={"amount": step.amount, "currency": "cash:USD"},
                headers={**auth, "Idempotency-Key": f"spend-{step.amount}"},
            )
            assert spent.status_code == 201, spent.text
        else:
            await _sees(run, auth, deposit_id, step)
    await _sees(run, auth, deposit_id, scenario.end)


async def _at_stripe(fake: FakeStripe, session_id: str, step: AtStripe) -> Event:
    """Make it happen at Stripe; its event."""
    if step.action == "pay":
        await fake.pay(session_id)
    elif step.action == "pay-delayed":
        await fake.pay(session_id, delayed=True)
    elif step.action == "succeed":
        await fake.async_payment_succeeded(session_id)
    elif step.action == "fail":
        await fake.async_payment_failed(session_id)
    elif step.action == "refund":
        await fake.refund(session_id, step.amount)
    elif step.action == "dispute" and step.amount is None:
        await fake.dispute(session_id)
    elif step.action == "dispute":
        assert step.amount is not None
        return await _partial_dispute(fake, session_id, step.amount)
    else:
        raise AssertionError(f"no such action at Stripe: {step.action}")
    return fake.events[-1]


async def _sees(run: Run, auth: Auth, deposit_id: int, sees: Sees) -> None:
    client = run.client
    if sees.waiting is not None:
        assert await _waiting(run.resources) == sees.waiting
    if sees.deferred is not None:
        assert len(await _deferred_jobs(run.resources)) == sees.deferred
    if sees.balance is not None:
        wallet = await _wallet(client, auth)
        if sees.frozen is None:
            assert wallet["balance"] == sees.balance
        else:
            assert wallet == {
                "currency": "cash:USD",
                "balance": sees.balance,
                "frozen": sees.frozen,
            }
    deposit = await _deposit(client, auth, deposit_id)
    for name, key in (
        ("status", "status"),
        ("refunded", "refunded_amount"),
        ("owed", "owed_amount"),
    ):
        if (expected := getattr(sees, name)) is not None:
            assert (key, deposit[key]) == (key, expected)
    credits, taken_back = await _movements(client, auth, deposit_id)
    if sees.movements is not None:
        assert (credits, taken_back) == sees.movements
    if sees.credited is not None:
        assert credits == sees.credited
    if sees.taken_back is not None:
        assert sum(taken_back) == sees.taken_back


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
    listed = (await client.get("/api/v1/payments/deposits", headers=auth)).json()["deposits"]
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
