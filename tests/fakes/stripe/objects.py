"""Stripe's API objects and events, in Stripe's JSON format (test mode)."""

import json
import secrets
import string
import time
from typing import Any, Final

import stripe

JsonObject = dict[str, Any]

# The account's default API version: the one events are rendered in.
API_VERSION: Final = stripe.api_version
CHECKOUT_SESSION_TTL_SECONDS: Final = 24 * 3600
_ALPHANUMERIC: Final = string.ascii_letters + string.digits


def new_id(prefix: str, *, test: bool = True) -> str:
    """An id in Stripe's style: ``cs_test_a1B2...``, ``evt_9xY...``."""
    random_part = "".join(secrets.choice(_ALPHANUMERIC) for _ in range(24))
    return f"{prefix}_test_{random_part}" if test else f"{prefix}_{random_part}"


def checkout_session_object(
    *,
    session_id: str | None = None,
    amount_total: int = 1000,
    currency: str = "usd",
    client_reference_id: str | None = None,
    metadata: dict[str, str] | None = None,
    customer_email: str | None = None,
    status: str = "open",
    payment_status: str = "unpaid",
    payment_intent: str | None = None,
    url: str | None = None,
    success_url: str | None = None,
    cancel_url: str | None = None,
    created: int | None = None,
) -> JsonObject:
    """A ``checkout.session`` object in ``mode=payment``."""
    created = int(time.time()) if created is None else created
    return {
        "id": session_id or new_id("cs"),
        "object": "checkout.session",
        "amount_subtotal": amount_total,
        "amount_total": amount_total,
        "cancel_url": cancel_url,
        "client_reference_id": client_reference_id,
        "created": created,
        "currency": currency,
        "customer": None,
        "customer_details": None
        if status == "open"
        else {"email": customer_email or "customer@example.com", "name": "Test Customer"},
        "customer_email": customer_email,
        "expires_at": created + CHECKOUT_SESSION_TTL_SECONDS,
        "livemode": False,
        "metadata": dict(metadata or {}),
        "mode": "payment",
        "payment_intent": payment_intent,
        "payment_method_types": ["card"],
        "payment_status": payment_status,
        "status": status,
        "success_url": success_url,
        "ui_mode": "hosted",
        "url": url,
    }


def charge_object(
    *,
    charge_id: str | None = None,
    payment_intent: str | None = None,
    amount: int = 1000,
    amount_refunded: int = 0,
    currency: str = "usd",
    disputed: bool = False,
    metadata: dict[str, str] | None = None,
    created: int | None = None,
) -> JsonObject:
    """A succeeded, captured ``charge``; ``refunded`` once fully refunded."""
    return {
        "id": charge_id or new_id("ch"),
        "object": "charge",
        "amount": amount,
        "amount_captured": amount,
        "amount_refunded": amount_refunded,
        "captured": True,
        "created": int(time.time()) if created is None else created,
        "currency": currency,
        "disputed": disputed,
        "livemode": False,
        "metadata": dict(metadata or {}),
        "paid": True,
        "payment_intent": payment_intent,
        "refunded": amount_refunded >= amount,
        "status": "succeeded",
    }


def dispute_object(
    *,
    dispute_id: str | None = None,
    charge: str | None = None,
    payment_intent: str | None = None,
    amount: int = 1000,
    currency: str = "usd",
    reason: str = "fraudulent",
    status: str = "needs_response",
    created: int | None = None,
) -> JsonObject:
    """A ``dispute`` on a charge, as ``charge.dispute.*`` events carry it."""
    return {
        "id": dispute_id or new_id("dp"),
        "object": "dispute",
        "amount": amount,
        "charge": charge or new_id("ch"),
        "created": int(time.time()) if created is None else created,
        "currency": currency,
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "payment_intent": payment_intent,
        "reason": reason,
        "status": status,
    }


def event_envelope(
    event_type: str,
    obj: JsonObject,
    *,
    event_id: str | None = None,
    created: int | None = None,
    api_version: str = API_VERSION,
    pending_webhooks: int = 1,
) -> JsonObject:
    """A snapshot event around ``obj``, as webhooks deliver it."""
    return {
        "id": event_id or new_id("evt", test=False),
        "object": "event",
        "api_version": api_version,
        "created": int(time.time()) if created is None else created,
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": pending_webhooks,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }


def encode_event(event: JsonObject) -> bytes:
    """The body Stripe sends: indented JSON (receivers must verify these exact bytes)."""
    return json.dumps(event, indent=2).encode()
