"""Storing verified webhook events once, and handling each once in a job."""

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.inbox.repository import inbox_repository
from app.kit.effects import enqueue_after_commit
from app.kit.resources import Resources
from app.models.inbox import InboxEvent
from app.payment.service import payment_service

log = logging.getLogger(__name__)

Handler = Callable[[AsyncSession, Resources, InboxEvent], Awaitable[None]]

HANDLERS: dict[str, Handler] = {
    "stripe": payment_service.handle_stripe_event,
}

#: Events still failing after this many attempts wait for a person (see ``last_error``).
MAX_ATTEMPTS = 20


def handle_job_id(inbox_id: int) -> str:
    return f"inbox.handle:{inbox_id}"


class InboxService:
    async def record(
        self,
        session: AsyncSession,
        *,
        source: str,
        external_id: str,
        event_type: str,
        payload: dict[str, Any],
    ) -> bool:
        """Store the event (a redelivery is a no-op) and have a job handle it after commit.
        True when the event is new."""
        inbox_id = await inbox_repository.insert(
            session,
            source=source,
            external_id=external_id,
            event_type=event_type,
            payload=payload,
        )
        if inbox_id is None:
            return False
        enqueue_after_commit(session, "inbox.handle", inbox_id, job_id=handle_job_id(inbox_id))
        return True

    async def handle(self, session: AsyncSession, resources: Resources, inbox_id: int) -> bool:
        """Apply one event, marking it handled in the same transaction as its effect. False
        when it was already handled (or is being handled by another worker right now)."""
        event = await inbox_repository.lock_unhandled(session, inbox_id)
        if event is None:
            return False
        handler = HANDLERS.get(event.source)
        if handler is None:
            log.warning("no handler for inbox source", extra={"source": event.source})
        else:
            await handler(session, resources, event)
        await inbox_repository.mark_handled(session, event)
        return True


inbox_service = InboxService()
