"""A small fake of Stripe (Checkout Sessions, the hosted page, refunds, disputes, signed
webhooks) in Stripe's formats.

- ``objects``: API objects and events as Stripe renders them;
- ``signing``: webhook deliveries signed with Stripe's scheme (real HMAC-SHA256);
- ``params``: Stripe's form-encoded nested parameters and the checks of a create request;
- ``errors``: Stripe's API errors;
- ``server``: the fake account as an ASGI app (``FakeStripe``);
- ``cli``: ``python -m tests.fakes.stripe`` for local demos (``make fake-stripe``)."""

from tests.fakes.stripe.cli import main, platform_webhook_url
from tests.fakes.stripe.errors import ApiError
from tests.fakes.stripe.objects import (
    API_VERSION,
    JsonObject,
    charge_object,
    checkout_session_object,
    dispute_object,
    encode_event,
    event_envelope,
    new_id,
)
from tests.fakes.stripe.params import parse_form
from tests.fakes.stripe.server import ApiRequest, Delivery, FakeStripe
from tests.fakes.stripe.signing import signature_header, signed_event, webhook_headers

__all__ = [
    "API_VERSION",
    "ApiError",
    "ApiRequest",
    "Delivery",
    "FakeStripe",
    "JsonObject",
    "charge_object",
    "checkout_session_object",
    "dispute_object",
    "encode_event",
    "event_envelope",
    "main",
    "new_id",
    "parse_form",
    "platform_webhook_url",
    "signature_header",
    "signed_event",
    "webhook_headers",
]
