"""Webhook deliveries signed as Stripe signs them: ``Stripe-Signature`` with a real
HMAC-SHA256 over ``{timestamp}.{body}``."""

import hashlib
import hmac
import secrets
import time

from tests.fakes.stripe.objects import JsonObject, encode_event, event_envelope


def signature_header(payload: bytes, secret: str, *, timestamp: int | None = None) -> str:
    """``Stripe-Signature`` for ``payload``, with the extra ``v0`` scheme test-mode events carry."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{timestamp}.".encode() + payload
    v1 = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={v1},v0={secrets.token_hex(32)}"


def signed_event(
    event_type: str,
    obj: JsonObject,
    secret: str,
    *,
    timestamp: int | None = None,
    event_id: str | None = None,
) -> tuple[bytes, dict[str, str]]:
    """The raw body and headers of a webhook delivery of ``event_type`` about ``obj``."""
    body = encode_event(event_envelope(event_type, obj, event_id=event_id, created=timestamp))
    return body, webhook_headers(body, secret, timestamp=timestamp)


def webhook_headers(body: bytes, secret: str, *, timestamp: int | None = None) -> dict[str, str]:
    return {
        "Content-Type": "application/json; charset=utf-8",
        "Stripe-Signature": signature_header(body, secret, timestamp=timestamp),
        "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
    }
