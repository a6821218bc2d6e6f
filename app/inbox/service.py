"""Storing verified webhook events once, and handling each once in a job by the handler its
source registered. The inbox knows no domain: each registers its handler (app.webhooks)."""

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.inbox.repository import inbox_repository
from app.kit.effects import enqueue_after_commit
from app.kit.resources import Resources
from app.models.inbox import InboxEvent

log = logging.getLogger(__name__)

#: Applies one stored event of its source, in the transaction that marks it handled.
Handler = Callable[[AsyncSession, Resources, InboxEvent], Awaitable[None]]

#: Events still failing after this many attempts wait for a person (see ``last_error``).
MAX_ATTEMPTS = 20


def handle_job_id(inbox_id: int) -> str:
    return f"inbox.handle:{inbox_id}"


class InboxService:
    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def register(self, source: str, handler: Handler) -> None:
        """Have ``handler`` apply the events of ``source`` (``stripe``, ``twitch``, ...).
        Registering the same handler again is harmless; another one for a source already
        taken is a wiring mistake and raises ``ValueError``."""
        registered = self._handlers.get(source)
        if registered is not None and registered != handler:
            raise ValueError(f"inbox source {source!r} already has a handler: {registered!r}")
        self._handlers[source] = handler

    @property
    def sources(self) -> frozenset[str]:
        """The sources that have a handler."""
        return frozenset(self._handlers)

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
        when it was already handled (or is being handled by another worker right now), or
        when its source has no handler: then it stays unhandled, the reason in ``last_error``,
        for the sweep to offer again once one is registered (up to ``MAX_ATTEMPTS``)."""
        event = await inbox_repository.lock_unhandled(session, inbox_id)
        if event is None:
            return False
        handler = self._handlers.get(event.source)
        if handler is None:
            reason = f"no handler registered for inbox source {event.source!r}"
            attempts = await inbox_repository.record_failure(session, event.id, reason)
            log.error(
                "%s; event %s left unhandled",
                reason,
                event.id,
                extra={"inbox_id": event.id, "source": event.source, "attempts": attempts},
            )
            return False
        await handler(session, resources, event)
        await inbox_repository.mark_handled(session, event)
        return True


inbox_service = InboxService()
