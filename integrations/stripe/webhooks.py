"""Stripe webhooks: verify ``Stripe-Signature``, parse the event, read the objects we handle."""

import hashlib
import hmac
import time
from typing import Any, Final, Literal, TypeVar

import msgspec

from integrations.stripe.client import CheckoutSession

DEFAULT_TOLERANCE_SECONDS: Final = 300

CHECKOUT_SESSION_COMPLETED: Final = "checkout.session.completed"
CHECKOUT_SESSION_ASYNC_PAYMENT_SUCCEEDED: Final = "checkout.session.async_payment_succeeded"
CHECKOUT_SESSION_ASYNC_PAYMENT_FAILED: Final = "checkout.session.async_payment_failed"
CHECKOUT_SESSION_EXPIRED: Final = "checkout.session.expired"
CHARGE_REFUNDED: Final = "charge.refunded"
CHARGE_DISPUTE_CREATED: Final = "charge.dispute.created"
HANDLED_EVENT_TYPES: Final = frozenset(
    {
        CHECKOUT_SESSION_COMPLETED,
        CHECKOUT_SESSION_ASYNC_PAYMENT_SUCCEEDED,
        CHECKOUT_SESSION_ASYNC_PAYMENT_FAILED,
        CHECKOUT_SESSION_EXPIRED,
        CHARGE_REFUNDED,
        CHARGE_DISPUTE_CREATED,
    }
)


class InvalidSignature(Exception):
    """The request is not a genuine, fresh Stripe event; ``reason`` says why (answer 400)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MalformedEvent(ValueError):
    """An event, or the object inside it, does not have the shape we expect."""


class StripeEvent(msgspec.Struct, frozen=True):
    """A Stripe event (snapshot payload) with its ``data.object`` kept raw."""

    id: str
    type: str
    created: int
    livemode: bool
    data_object: dict[str, Any]
    api_version: str | None = None


# The same object Checkout Session webhooks carry as the API returns.
CheckoutSessionObject = CheckoutSession


class ChargeObject(msgspec.Struct, frozen=True):
    id: str
    payment_intent: str | None
    amount: int
    amount_refunded: int
    currency: str
    refunded: bool = False
    metadata: dict[str, str] = msgspec.field(default_factory=dict)


class DisputeObject(msgspec.Struct, frozen=True):
    id: str
    charge: str
    payment_intent: str | None
    amount: int
    currency: str
    status: str
    reason: str


def verify_and_parse(
    payload: bytes,
    signature_header: str | None,
    secret: str,
    *,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> StripeEvent:
    """Check that ``payload`` (the raw request body) was signed by Stripe with ``secret`` within
    ``tolerance_seconds`` of ``now`` (either side), then parse it.

    ``stripe.Webhook.construct_event`` accepts timestamps from the future, hence our own check."""
    if not secret:
        raise ValueError("an empty webhook secret means the endpoint is disabled")
    if not signature_header:
        raise InvalidSignature("missing header")
    timestamp, signatures = _parse_header(signature_header)
    if not signatures:
        raise InvalidSignature("no v1 signature")
    expected = _signature(payload, timestamp, secret)
    if not any(hmac.compare_digest(expected, candidate) for candidate in signatures):
        raise InvalidSignature("signature mismatch")
    current = time.time() if now is None else now
    if timestamp < current - tolerance_seconds:
        raise InvalidSignature("timestamp too old")
    if timestamp > current + tolerance_seconds:
        raise InvalidSignature("timestamp in the future")
    try:
        return parse_event(payload)
    except MalformedEvent as exc:
        raise InvalidSignature("invalid payload") from exc


def parse_event(payload: bytes) -> StripeEvent:
    """Parse an event body that was verified earlier (one kept in the inbox)."""
    try:
        envelope = msgspec.json.decode(payload, type=_Envelope)
    except msgspec.DecodeError as exc:
        raise MalformedEvent(f"not a Stripe event: {exc}") from exc
    except RecursionError as exc:
        # The decoder recurses once per level of nesting: no real event comes near the limit.
        raise MalformedEvent("not a Stripe event: nested too deep") from exc
    return StripeEvent(
        id=envelope.id,
        type=envelope.type,
        created=envelope.created,
        livemode=envelope.livemode,
        data_object=envelope.data.object,
        api_version=envelope.api_version,
    )


def checkout_session(event: StripeEvent) -> CheckoutSessionObject:
    """The session of a ``checkout.session.*`` event."""
    return _object_of(event, "checkout.session", CheckoutSessionObject)


def charge(event: StripeEvent) -> ChargeObject:
    """The charge of a ``charge.*`` event (``charge.refunded``)."""
    return _object_of(event, "charge", ChargeObject)


def dispute(event: StripeEvent) -> DisputeObject:
    """The dispute of a ``charge.dispute.*`` event."""
    return _object_of(event, "dispute", DisputeObject)


class _EventData(msgspec.Struct):
    object: dict[str, Any]


class _Envelope(msgspec.Struct):
    id: str
    object: Literal["event"]
    type: str
    created: int
    livemode: bool
    data: _EventData
    api_version: str | None = None


def _parse_header(header: str) -> tuple[int, list[bytes]]:
    timestamp: int | None = None
    signatures: list[bytes] = []
    for item in header.split(","):
        scheme, separator, value = item.strip().partition("=")
        if not separator or not scheme:
            raise InvalidSignature("malformed header")
        if scheme == "t":
            if timestamp is not None or not (value.isascii() and value.isdigit()):
                raise InvalidSignature("malformed header")
            timestamp = int(value)
        elif scheme == "v1":
            # Bytes: compare_digest refuses str with non-ASCII characters.
            signatures.append(value.encode())
    if timestamp is None:
        raise InvalidSignature("malformed header")
    return timestamp, signatures


def _signature(payload: bytes, timestamp: int, secret: str) -> bytes:
    signed = f"{timestamp}.".encode() + payload
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest().encode()


_Object = TypeVar("_Object", bound=msgspec.Struct)


def _object_of(event: StripeEvent, kind: str, type_: type[_Object]) -> _Object:
    actual = event.data_object.get("object")
    if actual != kind:
        raise MalformedEvent(f"{event.type} {event.id} carries a {actual!r}, not a {kind!r}")
    try:
        return msgspec.convert(event.data_object, type_)
    except msgspec.ValidationError as exc:
        raise MalformedEvent(f"{event.type} {event.id}: {exc}") from exc
