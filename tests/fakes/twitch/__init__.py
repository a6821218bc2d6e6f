"""A small fake of Twitch (OAuth, Helix, signed EventSub deliveries, the EventSub WebSocket) in
Twitch's formats.

- ``objects``: EventSub events and Helix objects as Twitch renders them;
- ``signing``: webhook deliveries signed with Twitch's scheme (real HMAC-SHA256), and posting;
- ``server``: the fake app's Twitch (``FakeTwitch``), an aiohttp server on loopback;
- ``websocket``: a fake EventSub WebSocket server (``FakeEventSubWebSocket``);
- ``cli``: ``python -m tests.fakes.twitch`` for trying things locally."""

from tests.fakes.oauth import Token
from tests.fakes.twitch.objects import JsonObject, new_id, rfc3339
from tests.fakes.twitch.server import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, FakeTwitch
from tests.fakes.twitch.signing import (
    Delivery,
    notification,
    post,
    revocation,
    signature,
    signed_delivery,
    verification,
)

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "Delivery",
    "FakeTwitch",
    "JsonObject",
    "Token",
    "new_id",
    "notification",
    "post",
    "revocation",
    "rfc3339",
    "signature",
    "signed_delivery",
    "verification",
]
