"""Stripe Checkout through the official library, on one pinned API version, with our own errors."""

import asyncio
from collections.abc import Mapping
from typing import Final

import httpx
import msgspec
import stripe
from stripe.params.checkout import SessionCreateParams

from integrations.tls import client_context

# The version the installed library is generated for: its types describe this version's objects.
# Upgrading the library means reading Stripe's changelog and moving this pin on purpose.
STRIPE_API_VERSION: Final = "2026-10-28.endive"

MAX_IDEMPOTENCY_KEY_LENGTH: Final = 255


class StripeError(Exception):
    """Root of the adapter's errors: callers never handle the library's exceptions."""


class StripeUnavailable(StripeError):
    """Stripe could not be reached or failed (network, 5xx, rate limit) even after retries.

    Safe to retry later with the same idempotency key."""


class StripeRequestFailed(StripeError):
    """Stripe refused the request (4xx): retrying the same request will not help."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_type: str | None = None,
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.error_type = error_type  # invalid_request_error, idempotency_error, card_error...
        self.code = code
        self.param = param


class CheckoutSession(msgspec.Struct, frozen=True):
    """The fields of a Checkout Session we use; the same shape arrives in webhook events."""

    id: str
    url: str | None
    status: str | None
    payment_status: str
    payment_intent: str | None
    amount_total: int | None
    currency: str | None
    client_reference_id: str | None
    metadata: dict[str, str] = msgspec.field(default_factory=dict)


class StripeClient:
    """The one way the platform talks to Stripe's API."""

    def __init__(
        self,
        secret_key: str,
        api_base: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_seconds: float = 10,
        max_network_retries: int = 2,
    ) -> None:
        if not secret_key:
            raise ValueError("an empty Stripe secret key means payments are disabled")
        self._http = _HttpxClient(timeout_seconds=timeout_seconds, transport=transport)
        self._stripe = stripe.StripeClient(
            secret_key,
            stripe_version=STRIPE_API_VERSION,
            base_addresses={"api": api_base.rstrip("/")},
            http_client=self._http,
            max_network_retries=max_network_retries,
        )

    async def create_checkout_session(
        self,
        *,
        amount: int,
        currency: str,
        description: str,
        client_reference_id: str,
        metadata: dict[str, str],
        customer_email: str | None,
        success_url: str,
        cancel_url: str,
        idempotency_key: str,
    ) -> CheckoutSession:
        """Open a hosted Checkout page charging ``amount`` minor units of ``currency`` once.

        Repeating the call with the same ``idempotency_key`` (built from our own ids) and the
        same arguments returns the session created the first time."""
        if amount <= 0:
            raise ValueError(f"amount must be positive, not {amount}")
        if not 0 < len(idempotency_key) <= MAX_IDEMPOTENCY_KEY_LENGTH:
            raise ValueError(f"idempotency keys have 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} characters")
        params: SessionCreateParams = {
            "mode": "payment",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": currency.lower(),
                        "unit_amount": amount,
                        "product_data": {"name": description},
                    },
                }
            ],
            "client_reference_id": client_reference_id,
            "metadata": metadata,
            "success_url": success_url,
            "cancel_url": cancel_url,
        }
        if customer_email is not None:
            params["customer_email"] = customer_email
        try:
            session = await self._stripe.v1.checkout.sessions.create_async(
                params=params, options={"idempotency_key": idempotency_key}
            )
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
        return _checkout_session(session)

    async def retrieve_checkout_session(self, session_id: str) -> CheckoutSession:
        """The session as Stripe sees it now (webhooks arrive late and out of order)."""
        try:
            session = await self._stripe.v1.checkout.sessions.retrieve_async(session_id)
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
        return _checkout_session(session)

    async def aclose(self) -> None:
        await self._http.close_async()


def _checkout_session(session: stripe.checkout.Session) -> CheckoutSession:
    try:
        return msgspec.convert(session.to_dict(), CheckoutSession)
    except msgspec.ValidationError as exc:
        raise StripeError(f"unexpected Checkout Session from Stripe: {exc}") from exc


def _translate(exc: stripe.StripeError) -> StripeError:
    status = exc.http_status
    message = str(exc.user_message or type(exc).__name__)
    # 409: a request with the same idempotency key is still running; 429: rate limited.
    if (
        isinstance(exc, stripe.APIConnectionError | stripe.RateLimitError)
        or status in (409, 429)
        or (status is not None and status >= 500)
    ):
        return StripeUnavailable(message)
    error = exc.error
    return StripeRequestFailed(
        message,
        status=status,
        error_type=error.type if error is not None else None,
        code=exc.code,
        param=error.param if error is not None else None,
    )


class _HttpxClient(stripe.HTTPClient):
    """The library's HTTP client interface over our own ``httpx.AsyncClient``.

    ``stripe.HTTPXClient`` builds its httpx client itself, so it cannot be given a transport (nor
    a fake in tests), and it sends the form body as ``data=<str>``, which httpx deprecates. The
    library keeps the retries (backoff, ``Stripe-Should-Retry``, same idempotency key)."""

    name = "httpx"

    def __init__(self, *, timeout_seconds: float, transport: httpx.AsyncBaseTransport | None):
        super().__init__()
        self._client = httpx.AsyncClient(
            timeout=timeout_seconds, transport=transport, verify=client_context()
        )

    async def request_async(
        self, method: str, url: str, headers: Mapping[str, str], post_data: str | None = None
    ) -> tuple[bytes, int, Mapping[str, str]]:
        try:
            response = await self._client.request(method, url, headers=headers, content=post_data)
        except httpx.HTTPError as exc:
            # The library leaves this constructor unannotated.
            raise stripe.APIConnectionError(  # type: ignore[no-untyped-call]
                f"network error talking to Stripe: {type(exc).__name__}",
                should_retry=isinstance(exc, httpx.TransportError),
            ) from exc
        return response.content, response.status_code, response.headers

    async def close_async(self) -> None:
        await self._client.aclose()

    async def sleep_async(self, secs: float) -> None:
        await asyncio.sleep(secs)
