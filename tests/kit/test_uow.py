"""The unit of work: an error after a flush leaves nothing behind and sends no effect, unless
the error says on purpose that its changes stand."""

from typing import ClassVar

import pytest
from sqlalchemy import text

from app.kit.effects import emit_after_commit
from app.kit.errors import AppError
from app.kit.resources import Resources
from app.kit.uow import unit_of_work
from app.settings import Settings
from tests.factories import create_user


class Refused(AppError):
    code = "refused"


class RefusedButRecorded(AppError):
    code = "refused_but_recorded"
    keeps_changes: ClassVar[bool] = True


async def _display_name(resources: Resources, user_id: int) -> str:
    async with unit_of_work(resources) as session:
        name = await session.scalar(
            text("SELECT display_name FROM users WHERE id = :id"), {"id": user_id}
        )
    return str(name)


async def test_an_app_error_after_a_flush_rolls_everything_back(
    resources: Resources, settings: Settings
) -> None:
    async with unit_of_work(resources) as session:
        user_id = (await create_user(session, settings)).id
    before = await _display_name(resources, user_id)
    sent: list[object] = []

    async def record(event: str, data: object, room: str) -> None:
        sent.append(data)

    resources.emitter.emit = record  # type: ignore[method-assign]
    with pytest.raises(Refused):
        async with unit_of_work(resources) as session:
            await session.execute(
                text("UPDATE users SET display_name = 'half-applied' WHERE id = :id"),
                {"id": user_id},
            )
            await session.flush()
            emit_after_commit(session, "notification", {"n": 1}, "user:1")
            raise Refused()
    assert await _display_name(resources, user_id) == before
    assert sent == []

    with pytest.raises(RefusedButRecorded):
        async with unit_of_work(resources) as session:
            await session.execute(
                text("UPDATE users SET display_name = 'recorded' WHERE id = :id"),
                {"id": user_id},
            )
            raise RefusedButRecorded()
    assert await _display_name(resources, user_id) == "recorded"
