"""The inbox hands each event to the handler its source registered; an event of a source with
no handler is kept, unhandled, with the reason, for when one is registered."""

import logging

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.inbox.service import InboxService, inbox_service
from app.kit.resources import Resources
from app.kit.uow import unit_of_work
from app.models.inbox import InboxEvent
from app.payment.service import payment_service
from workers.settings import WorkerSettings


async def _record(
    resources: Resources, service: InboxService, source: str, external_id: str
) -> int:
    async with unit_of_work(resources) as session:
        assert await service.record(
            session, source=source, external_id=external_id, event_type="test", payload={"a": 1}
        )
        return int(
            await session.scalar(
                text("SELECT id FROM inbox WHERE source = :s AND external_id = :e"),
                {"s": source, "e": external_id},
            )
        )


async def _row(resources: Resources, inbox_id: int) -> tuple[bool, int, str | None]:
    async with unit_of_work(resources) as session:
        row = (
            await session.execute(
                text(
                    "SELECT handled_at IS NOT NULL, attempts, last_error FROM inbox WHERE id = :id"
                ),
                {"id": inbox_id},
            )
        ).one()
    return bool(row[0]), int(row[1]), row[2]


def test_the_worker_registers_the_stripe_handler() -> None:
    assert WorkerSettings.functions  # workers.settings imported: its registrations are made
    assert "stripe" in inbox_service.sources


def test_a_source_takes_one_handler() -> None:
    service = InboxService()
    service.register("stripe", payment_service.handle_stripe_event)
    service.register("stripe", payment_service.handle_stripe_event)  # the same: harmless

    async def other(session: AsyncSession, resources: Resources, event: InboxEvent) -> None:
        return None

    with pytest.raises(ValueError, match="already has a handler"):
        service.register("stripe", other)


async def test_an_event_is_applied_by_its_sources_handler_and_marked_handled_once(
    resources: Resources,
) -> None:
    service = InboxService()
    seen: list[str] = []

    async def handler(session: AsyncSession, resources: Resources, event: InboxEvent) -> None:
        seen.append(event.external_id)

    service.register("kick", handler)
    inbox_id = await _record(resources, service, "kick", "evt-applied")
    async with unit_of_work(resources) as session:
        assert await service.handle(session, resources, inbox_id)
    async with unit_of_work(resources) as session:
        assert not await service.handle(session, resources, inbox_id)  # handled already
    assert seen == ["evt-applied"]
    assert (await _row(resources, inbox_id))[:2] == (True, 1)


async def test_an_event_of_a_source_without_handler_stays_unhandled_with_the_reason(
    resources: Resources, caplog: pytest.LogCaptureFixture
) -> None:
    service = InboxService()
    inbox_id = await _record(resources, service, "youtube", "evt-orphan")
    with caplog.at_level(logging.ERROR, logger="app.inbox.service"):
        async with unit_of_work(resources) as session:
            assert not await service.handle(session, resources, inbox_id)
    handled, attempts, last_error = await _row(resources, inbox_id)
    assert (handled, attempts) == (False, 1)
    assert last_error == "no handler registered for inbox source 'youtube'"
    assert any(
        "no handler registered for inbox source 'youtube'" in r.getMessage() for r in caplog.records
    )

    # Once its source registers a handler, the next offer (the sweep's) applies it.
    async def handler(session: AsyncSession, resources: Resources, event: InboxEvent) -> None:
        return None

    service.register("youtube", handler)
    async with unit_of_work(resources) as session:
        assert await service.handle(session, resources, inbox_id)
    assert (await _row(resources, inbox_id))[:2] == (True, 2)
