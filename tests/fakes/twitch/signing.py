"""EventSub webhook deliveries signed as Twitch signs them: HMAC-SHA256 over id, timestamp and
body, with Twitch's headers, and a way to POST them to an endpoint."""

import hashlib
import hmac
from datetime import datetime

import msgspec

from tests.fakes.delivery import Delivery as Delivery
from tests.fakes.delivery import post as post
from tests.fakes.twitch.objects import JsonObject, new_id, rfc3339


def signature(secret: str | bytes, message_id: str, timestamp: str, body: bytes) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    digest = hmac.new(key, message_id.encode() + timestamp.encode() + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def signed_delivery(
    message_type: str,
    body: JsonObject,
    secret: str | bytes,
    *,
    message_id: str | None = None,
    retry: int = 0,
    sent_at: datetime | None = None,
) -> Delivery:
    """``body`` (``{"subscription": ..., ...}``) encoded once and signed, as a delivery."""
    raw = msgspec.json.encode(body)
    message_id = message_id or new_id()
    timestamp = rfc3339(sent_at)
    subscription = body["subscription"]
    headers = {
        "Content-Type": "application/json",
        "Twitch-Eventsub-Message-Id": message_id,
        "Twitch-Eventsub-Message-Retry": str(retry),
        "Twitch-Eventsub-Message-Type": message_type,
        "Twitch-Eventsub-Message-Signature": signature(secret, message_id, timestamp, raw),
        "Twitch-Eventsub-Message-Timestamp": timestamp,
        "Twitch-Eventsub-Subscription-Type": subscription["type"],
        "Twitch-Eventsub-Subscription-Version": subscription["version"],
    }
    return Delivery(headers, raw)


def notification(
    subscription: JsonObject,
    event: JsonObject,
    secret: str | bytes,
    *,
    message_id: str | None = None,
    retry: int = 0,
    sent_at: datetime | None = None,
) -> Delivery:
    body = {"subscription": subscription, "event": event}
    return signed_delivery(
        "notification", body, secret, message_id=message_id, retry=retry, sent_at=sent_at
    )


def verification(
    subscription: JsonObject, secret: str | bytes, *, challenge: str | None = None
) -> Delivery:
    """The ``webhook_callback_verification`` sent when a webhook subscription is created."""
    pending = subscription | {"status": "webhook_callback_verification_pending"}
    body = {"challenge": challenge or new_id(), "subscription": pending}
    return signed_delivery("webhook_callback_verification", body, secret)


def revocation(
    subscription: JsonObject, secret: str | bytes, *, reason: str = "authorization_revoked"
) -> Delivery:
    """A ``revocation``: ``reason`` is the subscription's new status (``user_removed``,
    ``authorization_revoked``, ``notification_failures_exceeded``, ``version_removed``)."""
    return signed_delivery(
        "revocation", {"subscription": subscription | {"status": reason}}, secret
    )
