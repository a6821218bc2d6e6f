"""Webhook signatures and events, in Stripe's format, and the fake's deliveries end to end."""

import json
import time
from typing import Any

import httpx
import pytest
import stripe

from integrations.stripe.client import StripeClient
from integrations.stripe.webhooks import (
    CHARGE_DISPUTE_CREATED,
    CHARGE_REFUNDED,
    CHECKOUT_SESSION_ASYNC_PAYMENT_FAILED,
    CHECKOUT_SESSION_ASYNC_PAYMENT_SUCCEEDED,
    CHECKOUT_SESSION_COMPLETED,
    CHECKOUT_SESSION_EXPIRED,
    HANDLED_EVENT_TYPES,
    InvalidSignature,
    MalformedEvent,
    StripeEvent,
    charge,
    checkout_session,
    dispute,
    parse_event,
    verify_and_parse,
)
from tests.fakes.stripe import (
    FakeStripe,
    charge_object,
    checkout_session_object,
    dispute_object,
    encode_event,
    event_envelope,
    new_id,
    signature_header,
    signed_event,
)

SECRET = "whsec_test_0123456789abcdef"
OLD_SECRET = "whsec_test_rotated_away_0000"
NOW = 1_800_000_000


def completed_session(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "amount_total": 2500,
        "client_reference_id": "deposit:41",
        "metadata": {"deposit_id": "41"},
        "status": "complete",
        "payment_status": "paid",
        "payment_intent": "pi_test_0001",
    }
    return checkout_session_object(**(fields | overrides))


def signed(obj: dict[str, Any] | None = None, *, timestamp: int = NOW) -> tuple[bytes, str]:
    body, headers = signed_event(
        CHECKOUT_SESSION_COMPLETED, obj or completed_session(), SECRET, timestamp=timestamp
    )
    return body, headers["Stripe-Signature"]


def reason(payload: bytes, header: str | None, *, now: float = NOW) -> str:
    with pytest.raises(InvalidSignature) as rejected:
        verify_and_parse(payload, header, SECRET, now=now)
    return rejected.value.reason


# --- Signatures ---------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [5_000, 100_000])
def test_a_signed_event_nested_thousands_deep_is_malformed_not_a_crash(depth: int) -> None:
    envelope = event_envelope(CHECKOUT_SESSION_COMPLETED, completed_session(), created=NOW)
    envelope["data"]["object"]["metadata"] = "DEEP"
    payload = encode_event(envelope).replace(b'"DEEP"', b"[" * depth + b"]" * depth)

    assert reason(payload, signature_header(payload, SECRET, timestamp=NOW)) == "invalid payload"
    with pytest.raises(MalformedEvent):
        parse_event(payload)


def test_a_genuine_event_is_parsed() -> None:
    body, header = signed(timestamp=NOW - 10)

    event = verify_and_parse(body, header, SECRET, now=NOW)

    assert event.id.startswith("evt_")
    assert (event.type, event.created, event.livemode) == (
        CHECKOUT_SESSION_COMPLETED,
        NOW - 10,
        False,
    )
    assert event.api_version == stripe.api_version
    assert event.data_object["object"] == "checkout.session"


def test_the_current_time_is_the_default() -> None:
    body, header = signed(timestamp=int(time.time()))

    assert verify_and_parse(body, header, SECRET).type == CHECKOUT_SESSION_COMPLETED


def test_headers_signed_by_the_stripe_library_are_accepted() -> None:
    body = encode_event(event_envelope(CHECKOUT_SESSION_COMPLETED, completed_session()))
    header = stripe.WebhookSignature.generate_signature_header(body.decode(), SECRET, NOW)

    assert verify_and_parse(body, header, SECRET, now=NOW).type == CHECKOUT_SESSION_COMPLETED


def test_the_fakes_signatures_satisfy_the_stripe_library() -> None:
    body, header = signed(timestamp=int(time.time()))

    assert stripe.WebhookSignature.verify_header(body, header, SECRET, tolerance=300)


def test_another_secret_is_a_signature_mismatch() -> None:
    body = encode_event(event_envelope(CHECKOUT_SESSION_COMPLETED, completed_session()))

    assert reason(body, signature_header(body, OLD_SECRET, timestamp=NOW)) == "signature mismatch"


def test_during_secret_rotation_any_matching_v1_is_accepted() -> None:
    body = encode_event(event_envelope(CHECKOUT_SESSION_COMPLETED, completed_session()))
    old = stripe.WebhookSignature.generate_signature_header(body.decode(), OLD_SECRET, NOW)
    new = stripe.WebhookSignature.generate_signature_header(body.decode(), SECRET, NOW)
    old_v1, new_v1 = old.split(",")[1], new.split(",")[1]

    for header in (f"t={NOW},{old_v1},{new_v1}", f"t={NOW},{new_v1},{old_v1}"):
        assert verify_and_parse(body, header, SECRET, now=NOW).type == CHECKOUT_SESSION_COMPLETED


def test_a_body_changed_by_one_byte_is_rejected() -> None:
    body, header = signed()
    tampered = body.replace(b'"amount_total": 2500', b'"amount_total": 9500')
    assert len(tampered) == len(body) and tampered != body

    assert reason(tampered, header) == "signature mismatch"


def test_a_re_serialised_body_is_rejected() -> None:
    body, header = signed()
    compact = json.dumps(json.loads(body)).encode()
    assert compact != body

    assert reason(compact, header) == "signature mismatch"


def test_timestamps_within_the_tolerance_either_side_are_accepted() -> None:
    for timestamp in (NOW - 300, NOW + 300):
        body, header = signed(timestamp=timestamp)
        assert verify_and_parse(body, header, SECRET, now=NOW).created == timestamp


def test_a_stale_timestamp_is_rejected() -> None:
    body, header = signed(timestamp=NOW - 301)

    assert reason(body, header) == "timestamp too old"


def test_a_timestamp_in_the_future_is_rejected() -> None:
    body, header = signed(timestamp=NOW + 301)

    assert reason(body, header) == "timestamp in the future"


def test_the_tolerance_can_be_narrowed() -> None:
    body, header = signed(timestamp=NOW - 60)

    with pytest.raises(InvalidSignature, match="timestamp too old"):
        verify_and_parse(body, header, SECRET, tolerance_seconds=30, now=NOW)


@pytest.mark.parametrize("header", [None, ""])
def test_a_missing_header_is_rejected(header: str | None) -> None:
    body, _ = signed()

    assert reason(body, header) == "missing header"


@pytest.mark.parametrize(
    "header",
    [
        "garbage",
        "v1=abc",
        "t=,v1=abc",
        "t=12a4,v1=abc",
        "t=-5,v1=abc",
        "t=١٢٣,v1=abc",
        f"t={NOW},t={NOW},v1=abc",
        f"t={NOW},,v1=abc",
        f"t={NOW},=abc",
    ],
)
def test_a_malformed_header_is_rejected(header: str) -> None:
    body, _ = signed()

    assert reason(body, header) == "malformed header"


def test_a_header_without_v1_is_rejected_even_with_other_schemes() -> None:
    body, header = signed()
    v0_only = ",".join(part for part in header.split(",") if not part.startswith("v1="))

    assert reason(body, v0_only) == "no v1 signature"


def test_a_non_ascii_signature_is_a_mismatch() -> None:
    body, _ = signed()

    assert reason(body, f"t={NOW},v1=é{'0' * 63}") == "signature mismatch"


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b'{"id": "evt_1", "object": "event"}',
        b'{"id": "evt_1", "object": "v2.core.event", "type": "x", "created": 1, "livemode": false,'
        b' "data": {"object": {}}}',
    ],
)
def test_a_signed_body_that_is_not_an_event_is_an_invalid_payload(payload: bytes) -> None:
    header = signature_header(payload, SECRET, timestamp=NOW)

    assert reason(payload, header) == "invalid payload"


def test_an_empty_secret_is_a_configuration_error() -> None:
    body, header = signed()

    with pytest.raises(ValueError, match="disabled"):
        verify_and_parse(body, header, "", now=NOW)


# --- Objects ------------------------------------------------------------------------------------


def event_of(event_type: str, obj: dict[str, Any]) -> StripeEvent:
    body, headers = signed_event(event_type, obj, SECRET, timestamp=NOW)
    return verify_and_parse(body, headers["Stripe-Signature"], SECRET, now=NOW)


@pytest.mark.parametrize(
    ("event_type", "payment_status"),
    [
        (CHECKOUT_SESSION_COMPLETED, "paid"),
        (CHECKOUT_SESSION_COMPLETED, "unpaid"),
        (CHECKOUT_SESSION_ASYNC_PAYMENT_SUCCEEDED, "paid"),
        (CHECKOUT_SESSION_ASYNC_PAYMENT_FAILED, "unpaid"),
        (CHECKOUT_SESSION_EXPIRED, "unpaid"),
    ],
)
def test_checkout_session_events_carry_the_session(event_type: str, payment_status: str) -> None:
    event = event_of(event_type, completed_session(payment_status=payment_status))

    session = checkout_session(event)

    assert (session.payment_status, session.payment_intent) == (payment_status, "pi_test_0001")
    assert (session.amount_total, session.currency) == (2500, "usd")
    assert session.client_reference_id == "deposit:41"
    assert session.metadata == {"deposit_id": "41"}


def test_a_refund_event_carries_the_charge() -> None:
    obj = charge_object(charge_id="ch_test_1", payment_intent="pi_test_0001", amount=2500)
    obj["amount_refunded"] = 1000
    obj["refunds"] = {"object": "list", "data": []}  # fields we do not model are ignored

    refunded = charge(event_of(CHARGE_REFUNDED, obj))

    assert (refunded.id, refunded.payment_intent) == ("ch_test_1", "pi_test_0001")
    assert (refunded.amount, refunded.amount_refunded, refunded.currency) == (2500, 1000, "usd")
    assert refunded.refunded is False


def test_a_dispute_event_carries_the_dispute() -> None:
    obj = dispute_object(charge="ch_test_1", payment_intent="pi_test_0001", amount=2500)

    opened = dispute(event_of(CHARGE_DISPUTE_CREATED, obj))

    assert opened.id.startswith("dp_test_")
    assert (opened.charge, opened.payment_intent, opened.amount) == (
        "ch_test_1",
        "pi_test_0001",
        2500,
    )
    assert (opened.status, opened.reason) == ("needs_response", "fraudulent")


def test_reading_the_wrong_object_is_a_malformed_event() -> None:
    event = event_of(CHARGE_REFUNDED, charge_object())

    with pytest.raises(MalformedEvent, match=r"not a 'checkout\.session'"):
        checkout_session(event)


def test_an_object_missing_a_field_we_need_is_a_malformed_event() -> None:
    obj = charge_object()
    del obj["amount_refunded"]

    with pytest.raises(MalformedEvent):
        charge(event_of(CHARGE_REFUNDED, obj))


def test_a_stored_body_parses_again_without_verification() -> None:
    body, _ = signed()

    assert checkout_session(parse_event(body)).payment_status == "paid"
    with pytest.raises(MalformedEvent):
        parse_event(b"{}")


# --- The fake's deliveries, end to end ----------------------------------------------------------


class Endpoint:
    """Our side of the webhook: verify, keep the event, answer."""

    def __init__(self) -> None:
        self.events: list[StripeEvent] = []
        self.rejections: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        try:
            event = verify_and_parse(
                request.content, request.headers.get("stripe-signature"), SECRET
            )
        except InvalidSignature as exc:
            self.rejections.append(exc.reason)
            return httpx.Response(400)
        self.events.append(event)
        return httpx.Response(200)

    def types(self) -> list[str]:
        return [event.type for event in self.events]


async def test_a_customer_paying_sends_a_verified_completed_event() -> None:
    endpoint = Endpoint()
    fake = FakeStripe(
        public_url="http://stripe.fake",
        webhook_url="http://app.test/webhooks/stripe",
        webhook_secret=SECRET,
        webhook_transport=httpx.MockTransport(endpoint),
    )
    transport = httpx.ASGITransport(app=fake)
    client = StripeClient("sk_test_e2e", "http://stripe.fake", transport=transport)
    try:
        session = await client.create_checkout_session(
            amount=2500,
            currency="usd",
            description="Deposit",
            client_reference_id="deposit:41",
            metadata={"deposit_id": "41"},
            customer_email=None,
            success_url="http://app.test/deposit/success?session={CHECKOUT_SESSION_ID}",
            cancel_url="http://app.test/deposit/cancel",
            idempotency_key="deposit:41",
        )
        assert session.url is not None
        async with httpx.AsyncClient(transport=transport) as browser:
            page = await browser.get(session.url)
            again = await browser.get(session.url)  # a reload does not pay twice
            refund = await browser.post(f"http://stripe.fake/_fake/sessions/{session.id}/refund")
        paid = await client.retrieve_checkout_session(session.id)
    finally:
        await client.aclose()

    success = f"http://app.test/deposit/success?session={session.id}"
    assert (page.status_code, page.headers["location"]) == (303, success)
    assert (again.status_code, again.headers["location"]) == (303, success)
    assert endpoint.rejections == []
    assert endpoint.types() == [CHECKOUT_SESSION_COMPLETED, CHARGE_REFUNDED]
    completed = checkout_session(endpoint.events[0])
    assert (completed.id, completed.payment_status) == (session.id, "paid")
    assert completed.client_reference_id == "deposit:41"
    assert completed.payment_intent == paid.payment_intent
    refunded = charge(endpoint.events[1])
    assert refund.status_code == 200
    assert (refunded.payment_intent, refunded.amount_refunded) == (paid.payment_intent, 2500)
    assert refunded.refunded is True


async def test_a_delayed_payment_completes_unpaid_then_succeeds_or_fails() -> None:
    endpoint = Endpoint()
    fake = FakeStripe(
        webhook_url="http://app.test/webhooks/stripe",
        webhook_secret=SECRET,
        webhook_transport=httpx.MockTransport(endpoint),
    )
    for session_id in ("cs_test_a", "cs_test_b"):
        fake.sessions[session_id] = checkout_session_object(session_id=session_id)

    await fake.pay("cs_test_a", delayed=True)
    await fake.pay("cs_test_b", delayed=True)
    await fake.async_payment_succeeded("cs_test_a")
    await fake.async_payment_failed("cs_test_b")

    assert endpoint.types() == [
        CHECKOUT_SESSION_COMPLETED,
        CHECKOUT_SESSION_COMPLETED,
        CHECKOUT_SESSION_ASYNC_PAYMENT_SUCCEEDED,
        CHECKOUT_SESSION_ASYNC_PAYMENT_FAILED,
    ]
    statuses = [checkout_session(event).payment_status for event in endpoint.events]
    assert statuses == ["unpaid", "unpaid", "paid", "unpaid"]


async def test_expiry_dispute_and_redelivery_are_delivered_signed() -> None:
    endpoint = Endpoint()
    fake = FakeStripe(
        webhook_url="http://app.test/webhooks/stripe",
        webhook_secret=SECRET,
        webhook_transport=httpx.MockTransport(endpoint),
    )
    for session_id in ("cs_test_paid", "cs_test_abandoned"):
        fake.sessions[session_id] = checkout_session_object(session_id=session_id)

    await fake.pay("cs_test_paid")
    opened = await fake.dispute("cs_test_paid")
    await fake.expire("cs_test_abandoned")
    duplicate = await fake.redeliver(fake.events[0]["id"])

    assert duplicate.status_code == 200
    assert endpoint.types() == [
        CHECKOUT_SESSION_COMPLETED,
        CHARGE_DISPUTE_CREATED,
        CHECKOUT_SESSION_EXPIRED,
        CHECKOUT_SESSION_COMPLETED,
    ]
    assert endpoint.events[3].id == endpoint.events[0].id
    assert dispute(endpoint.events[1]).id == opened["id"]
    assert checkout_session(endpoint.events[2]).status == "expired"
    assert {event.type for event in endpoint.events} <= HANDLED_EVENT_TYPES


def test_ids_look_like_stripes() -> None:
    assert new_id("cs").startswith("cs_test_") and len(new_id("cs")) == len("cs_test_") + 24
    assert new_id("evt", test=False).startswith("evt_")
