"""YouTube's WebSub (PubSubHubbub) push: subscribing a channel's feed at Google's hub, checking a
notification's ``X-Hub-Signature`` (HMAC-SHA1 of the raw body with the subscription's secret),
and reading the channel and video it names. It fires on uploads and edits, not reliably on
go-live: the platform takes it only as a hint to check the channel's broadcasts sooner."""

import hashlib
import hmac
from typing import Final
from xml.etree import ElementTree

import httpx

from integrations.errors import ApiUnavailable, request_failed
from integrations.tls import client_context

FEED_TOPIC: Final = "https://www.youtube.com/xml/feeds/videos.xml?channel_id={channel_id}"
_ATOM: Final = "{http://www.w3.org/2005/Atom}"
_YT: Final = "{http://www.youtube.com/xml/schemas/2015}"


def topic(channel_id: str) -> str:
    return FEED_TOPIC.format(channel_id=channel_id)


def subscription_secret(master: str, channel_id: str) -> str:
    """Each subscription's own secret, derived from the app's (nothing to store)."""
    return hmac.new(master.encode(), f"websub:{channel_id}".encode(), hashlib.sha256).hexdigest()


def signature(secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature`` header the hub sends with ``body``."""
    return "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


def signed(secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is the hub's HMAC-SHA1 of the raw ``body`` with ``secret``."""
    if not header:
        return False
    return hmac.compare_digest(signature(secret, body), header.strip().lower())


def notified(body: bytes) -> list[tuple[str, str]]:
    """(channel id, video id) of each entry of an Atom notification; none from a body that is
    not one (a deleted-entry notice, garbage)."""
    try:
        # The hub's body, signed with our secret: not an untrusted document by then.
        root = ElementTree.fromstring(body)  # noqa: S314
    except ElementTree.ParseError:
        return []
    found: list[tuple[str, str]] = []
    for entry in root.iter(f"{_ATOM}entry"):
        channel = entry.findtext(f"{_YT}channelId")
        video = entry.findtext(f"{_YT}videoId")
        if channel and video:
            found.append((channel.strip(), video.strip()))
    return found


async def subscribe(
    hub: str,
    *,
    callback: str,
    channel_id: str,
    secret: str,
    lease_seconds: int,
    transport: httpx.AsyncBaseTransport | None = None,
) -> None:
    """Ask the hub to push ``channel_id``'s feed to ``callback`` (it verifies with a GET to the
    callback, answered with the raw ``hub.challenge``). Renew before the lease ends."""
    form = {
        "hub.callback": callback,
        "hub.topic": topic(channel_id),
        "hub.verify": "async",
        "hub.mode": "subscribe",
        "hub.secret": secret,
        "hub.lease_seconds": str(lease_seconds),
    }
    async with httpx.AsyncClient(
        timeout=10, transport=transport, verify=client_context()
    ) as client:
        try:
            response = await client.post(hub, data=form)
        except httpx.HTTPError as exc:
            raise ApiUnavailable(f"WebSub hub unreachable: {type(exc).__name__}") from exc
    if response.status_code >= 500:
        raise ApiUnavailable(f"WebSub hub failed with {response.status_code}")
    if response.status_code >= 400:
        raise request_failed(response)
