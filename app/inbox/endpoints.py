"""The HTTP half of every webhook, whatever the vendor: verify the raw body, record the event
in the inbox once, answer 2xx at once. A vendor's endpoint supplies its secret and its
signature check; a job handles the event later (app.inbox.service)."""

from collections.abc import Callable, Mapping
from typing import Any

import msgspec
from litestar import Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.inbox.errors import InvalidWebhookSignature
from app.inbox.schemas import VerifiedEvent, WebhookChallenge, WebhookReceived
from app.inbox.service import inbox_service
from app.kit.errors import AppError
from app.kit.payload import MAX_DEPTH, too_deep

#: Checks a request's signature over its raw body with the secret; returns the event's id and
#: type (or the vendor's challenge to answer), or raises the vendor's refusal (an ``AppError``:
#: ``InvalidWebhookSignature`` or the vendor's own) saying why.
Verifier = Callable[[bytes, Mapping[str, str], str], VerifiedEvent | WebhookChallenge]


async def receive_webhook(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    *,
    source: str,
    secret: str,
    verify: Verifier,
    not_configured: Callable[[], AppError],
) -> WebhookReceived | WebhookChallenge:
    """Verify → record → 2xx. An empty secret disables the endpoint (``not_configured``).
    A redelivered event is answered 2xx too, and stored only once. A verified challenge is
    returned for the endpoint to answer."""
    if not secret:
        raise not_configured()
    body = await request.body()
    event = verify(body, request.headers, secret)
    if isinstance(event, WebhookChallenge):
        return event
    if too_deep(body):  # signed, but deeper than the inbox and its job should parse
        raise InvalidWebhookSignature(
            f"invalid payload (JSON nested deeper than {MAX_DEPTH} levels)"
        )
    payload = msgspec.json.decode(body) if event.payload is None else event.payload
    new = await inbox_service.record(
        session,
        source=source,
        external_id=event.external_id,
        event_type=event.event_type,
        payload=payload,
    )
    return WebhookReceived(received=True, duplicate=not new)
