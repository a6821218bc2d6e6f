"""A signed webhook delivery as a fake platform sends it, and the POST that sends it."""

from dataclasses import dataclass

import httpx


@dataclass(frozen=True)
class Delivery:
    """One webhook request: its headers (the signature among them) and its raw body."""

    headers: dict[str, str]
    body: bytes

    @property
    def message_id(self) -> str:
        """The platform's delivery id (``Twitch-Eventsub-Message-Id``, ``Kick-Event-Message-Id``)."""
        return next(
            value for name, value in self.headers.items() if name.lower().endswith("message-id")
        )


async def post(
    url: str, delivery: Delivery, *, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.Response:
    """POST ``delivery`` to ``url`` as the platforms do (no redirects followed)."""
    async with httpx.AsyncClient(transport=transport, timeout=10) as client:
        return await client.post(url, content=delivery.body, headers=delivery.headers)
