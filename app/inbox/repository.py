"""SQL of the inbox."""

from typing import Any

import msgspec
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.inbox import InboxEvent


class InboxRepository:
    async def insert(
        self,
        session: AsyncSession,
        *,
        source: str,
        external_id: str,
        event_type: str,
        payload: dict[str, Any],
    ) -> int | None:
        """Store an event once; None when it was already there (a redelivery)."""
        result = await session.execute(
            text(
                "INSERT INTO inbox (source, external_id, event_type, payload, received_at,"
                " attempts) VALUES (:source, :external_id, :event_type, CAST(:payload AS jsonb),"
                " now(), 0) ON CONFLICT (source, external_id) DO NOTHING RETURNING id"
            ),
            {
                "source": source,
                "external_id": external_id,
                "event_type": event_type,
                "payload": msgspec.json.encode(payload).decode(),
            },
        )
        return result.scalar_one_or_none()

    async def lock_unhandled(self, session: AsyncSession, inbox_id: int) -> InboxEvent | None:
        """The event, locked for handling; None if handled or being handled elsewhere."""
        result = await session.execute(
            text(
                "SELECT id FROM inbox WHERE id = :id AND handled_at IS NULL FOR UPDATE SKIP LOCKED"
            ),
            {"id": inbox_id},
        )
        if result.scalar_one_or_none() is None:
            return None
        return await session.get(InboxEvent, inbox_id)

    async def mark_handled(self, session: AsyncSession, event: InboxEvent) -> None:
        """Handled as of the transaction's time: committed with the handler's effect."""
        event.handled_at = (await session.execute(select(func.now()))).scalar_one()
        event.attempts += 1
        event.last_error = None
        await session.flush()

    async def record_failure(self, session: AsyncSession, inbox_id: int, error: str) -> int:
        result = await session.execute(
            text(
                "UPDATE inbox SET attempts = attempts + 1, last_error = :error"
                " WHERE id = :id RETURNING attempts"
            ),
            {"id": inbox_id, "error": error[:2000]},
        )
        return int(result.scalar_one_or_none() or 0)

    async def unhandled_ids(
        self, session: AsyncSession, older_than_seconds: int, max_attempts: int
    ) -> list[int]:
        result = await session.execute(
            text(
                "SELECT id FROM inbox WHERE handled_at IS NULL AND attempts < :max_attempts"
                " AND received_at < now() - make_interval(secs => :age) ORDER BY id LIMIT 1000"
            ),
            {"age": older_than_seconds, "max_attempts": max_attempts},
        )
        return [int(i) for i in result.scalars()]


inbox_repository = InboxRepository()
