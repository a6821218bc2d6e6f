"""Webhook deliveries signed as Kick signs them: RSA PKCS#1 v1.5 with SHA-256 over
``message_id.timestamp.body``, base64, with Kick's headers; and a way to POST them."""

import base64
from datetime import datetime

import msgspec
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.fakes.delivery import Delivery as Delivery
from tests.fakes.delivery import post as post
from tests.fakes.kick.objects import JsonObject, rfc3339, ulid


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def signature(key: rsa.RSAPrivateKey, message_id: str, timestamp: str, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    return base64.b64encode(key.sign(signed, padding.PKCS1v15(), hashes.SHA256())).decode()


def signed_delivery(
    event_type: str,
    event: JsonObject,
    key: rsa.RSAPrivateKey,
    *,
    message_id: str | None = None,
    subscription_id: str | None = None,
    sent_at: datetime | None = None,
    version: str = "1",
) -> Delivery:
    """``event`` encoded once and signed, as a delivery of ``event_type``."""
    raw = msgspec.json.encode(event)
    message_id = message_id or ulid()
    timestamp = rfc3339(sent_at)
    headers = {
        "Content-Type": "application/json",
        "Kick-Event-Message-Id": message_id,
        "Kick-Event-Subscription-Id": subscription_id or ulid(),
        "Kick-Event-Signature": signature(key, message_id, timestamp, raw),
        "Kick-Event-Message-Timestamp": timestamp,
        "Kick-Event-Type": event_type,
        "Kick-Event-Version": version,
    }
    return Delivery(headers, raw)
