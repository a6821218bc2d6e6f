"""The Stripe client against the local fake of Stripe, through the library's real HTTP requests."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import stripe

from integrations.stripe.client import (
    STRIPE_API_VERSION,
    CheckoutSession,
    StripeClient,
    StripeRequestFailed,
    StripeUnavailable,
)
from tests.fakes.stripe import FakeStripe

FAKE_API = "http://stripe.fake"
SECRET_KEY = "sk_test_streampools_0123456789"


@pytest.fixture
def fake() -> FakeStripe:
    return FakeStripe(public_url=FAKE_API, api_key=SECRET_KEY)


@pytest.fixture
async def stripe_client(fake: FakeStripe) -> AsyncIterator[StripeClient]:
    client = StripeClient(SECRET_KEY, FAKE_API, transport=httpx.ASGITransport(app=fake))
    yield client
    await client.aclose()


async def create_session(client: StripeClient, **overrides: Any) -> CheckoutSession:
    arguments: dict[str, Any] = {
        "amount": 2500,
        "currency": "USD",
        "description": "Deposit to streampools",
        "client_reference_id": "deposit:41",
        "metadata": {"deposit_id": "41", "user_id": "7"},
        "customer_email": "ada@example.com",
        "success_url": "http://127.0.0.1:8000/deposit/success?session={CHECKOUT_SESSION_ID}",
        "cancel_url": "http://127.0.0.1:8000/deposit/cancel",
        "idempotency_key": "deposit:41",
    }
    return await client.create_checkout_session(**(arguments | overrides))


async def test_api_version_is_the_one_the_library_is_generated_for() -> None:
    assert stripe.api_version == STRIPE_API_VERSION


async def test_create_opens_an_unpaid_session_for_the_amount(
    stripe_client: StripeClient, fake: FakeStripe
) -> None:
    session = await create_session(stripe_client)

    assert session.id.startswith("cs_test_")
    assert session.url == f"{FAKE_API}/pay/{session.id}"
    assert (session.status, session.payment_status, session.payment_intent) == (
        "open",
        "unpaid",
        None,
    )
    assert (session.amount_total, session.currency) == (2500, "usd")
    assert session.client_reference_id == "deposit:41"
    assert session.metadata == {"deposit_id": "41", "user_id": "7"}
    stored = fake.sessions[session.id]
    assert (stored["mode"], stored["customer_email"]) == ("payment", "ada@example.com")
    request = fake.api_requests[-1]
    assert (request.method, request.path) == ("POST", "/v1/checkout/sessions")
    assert (request.idempotency_key, request.stripe_version) == ("deposit:41", STRIPE_API_VERSION)


async def test_without_an_email_stripe_asks_the_customer(
    stripe_client: StripeClient, fake: FakeStripe
) -> None:
    session = await create_session(stripe_client, customer_email=None)

    assert fake.sessions[session.id]["customer_email"] is None


async def test_the_same_idempotency_key_returns_the_same_session(
    stripe_client: StripeClient, fake: FakeStripe
) -> None:
    first = await create_session(stripe_client)
    second = await create_session(stripe_client)

    assert second == first
    assert len(fake.sessions) == 1


async def test_the_same_key_with_other_parameters_is_refused(
    stripe_client: StripeClient, fake: FakeStripe
) -> None:
    await create_session(stripe_client, amount=2500)

    with pytest.raises(StripeRequestFailed) as refused:
        await create_session(stripe_client, amount=9900)

    assert (refused.value.status, refused.value.error_type) == (400, "idempotency_error")
    assert "same parameters" in refused.value.message
    assert len(fake.sessions) == 1


async def test_a_request_refused_by_validation_does_not_use_up_its_key(
    stripe_client: StripeClient, fake: FakeStripe
) -> None:
    with pytest.raises(StripeRequestFailed) as refused:
        await create_session(stripe_client, amount=10)  # below Stripe's minimum charge
    assert (refused.value.status, refused.value.param) == (400, "line_items")

    session = await create_session(stripe_client, amount=1000)

    assert session.amount_total == 1000
    assert list(fake.sessions) == [session.id]


async def test_invalid_metadata_names_the_parameter(stripe_client: StripeClient) -> None:
    with pytest.raises(StripeRequestFailed) as refused:
        await create_session(stripe_client, metadata={"note": "x" * 501})

    assert (refused.value.status, refused.value.error_type) == (400, "invalid_request_error")
    assert refused.value.param == "metadata[note]"


@pytest.mark.parametrize("key", ["sk_test_someone_else_0000", "sk_live_streampools_0123456789"])
async def test_a_wrong_key_is_refused(fake: FakeStripe, key: str) -> None:
    client = StripeClient(key, FAKE_API, transport=httpx.ASGITransport(app=fake))
    try:
        with pytest.raises(StripeRequestFailed) as refused:
            await create_session(client)
    finally:
        await client.aclose()

    assert refused.value.status == 401
    assert "Invalid API Key" in refused.value.message
    assert key not in refused.value.message
    assert fake.sessions == {}


def test_an_empty_key_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="disabled"):
        StripeClient("", FAKE_API)


async def test_retrieve_follows_the_session_through_payment(
    stripe_client: StripeClient, fake: FakeStripe
) -> None:
    created = await create_session(stripe_client)
    assert await stripe_client.retrieve_checkout_session(created.id) == created

    await fake.pay(created.id)
    paid = await stripe_client.retrieve_checkout_session(created.id)

    assert (paid.status, paid.payment_status, paid.url) == ("complete", "paid", None)
    assert paid.payment_intent is not None and paid.payment_intent.startswith("pi_test_")
    assert (paid.amount_total, paid.client_reference_id) == (2500, "deposit:41")


async def test_retrieving_an_unknown_session_is_refused(stripe_client: StripeClient) -> None:
    with pytest.raises(StripeRequestFailed) as refused:
        await stripe_client.retrieve_checkout_session("cs_test_missing")

    assert (refused.value.status, refused.value.code) == (404, "resource_missing")


async def test_a_passing_outage_is_retried_with_the_same_key(
    stripe_client: StripeClient, fake: FakeStripe
) -> None:
    fake.fail_next(1, status=503)

    session = await create_session(stripe_client)

    attempts = [request.idempotency_key for request in fake.api_requests]
    assert attempts == ["deposit:41", "deposit:41"]
    assert list(fake.sessions) == [session.id]


async def test_a_lasting_outage_is_unavailable(fake: FakeStripe) -> None:
    client = StripeClient(
        SECRET_KEY, FAKE_API, transport=httpx.ASGITransport(app=fake), max_network_retries=0
    )
    fake.fail_next(1, status=500)
    try:
        with pytest.raises(StripeUnavailable):
            await create_session(client)
    finally:
        await client.aclose()


async def test_an_unreachable_stripe_is_unavailable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    client = StripeClient(
        SECRET_KEY, FAKE_API, transport=httpx.MockTransport(refuse), max_network_retries=0
    )
    try:
        with pytest.raises(StripeUnavailable):
            await client.retrieve_checkout_session("cs_test_any")
    finally:
        await client.aclose()
