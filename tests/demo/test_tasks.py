"""The demo channel never stays without an open pool while developing."""

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from app.demo.service import DEMO_CHANNEL, demo_service
from app.demo.tasks import reopen_demo_pool
from app.kit.resources import Resources, open_resources
from app.kit.uow import unit_of_work
from app.pool.lifecycle import pool_lifecycle
from app.settings import Settings
from tests.conftest import RunJobs


@pytest.fixture
async def development(settings: Settings) -> AsyncIterator[Resources]:
    """What `make run`'s worker has: the development environment, demo on."""
    opened = await open_resources(settings.model_copy(update={"env": "development"}))
    yield opened
    await opened.close()


async def _pools(resources: Resources) -> list[tuple[int, str]]:
    async with unit_of_work(resources) as session:
        rows = await session.execute(
            text(
                "SELECT p.id, p.status FROM pools p JOIN channels c ON c.id = p.channel_id"
                " WHERE c.slug = :slug ORDER BY p.id"
            ),
            {"slug": DEMO_CHANNEL},
        )
        return [(row.id, str(row.status)) for row in rows]


async def _seed(resources: Resources) -> int:
    async with unit_of_work(resources) as session:
        await demo_service.seed(session, resources)
    [(pool_id, status)] = await _pools(resources)
    assert status == "open"
    return pool_id


@pytest.mark.parametrize("ending", ["resolved", "cancelled"])
async def test_a_new_demo_pool_opens_once_the_last_one_is_over(
    development: Resources, run_jobs: RunJobs, ending: str
) -> None:
    first = await _seed(development)
    async with unit_of_work(development) as session:
        locked = await pool_lifecycle.lock(session, development, None, first)
        if ending == "resolved":
            winner = locked.outcomes[0].id
            await pool_lifecycle.resolve(session, development, None, first, winner)
        else:
            await pool_lifecycle.cancel(session, development, None, first)
    await run_jobs()

    second = await reopen_demo_pool({"resources": development})
    assert second is not None
    assert second != first
    assert await _pools(development) == [
        (first, "settled" if ending == "resolved" else "refunded"),
        (second, "open"),
    ]
    # Run again (the cron ticks every few seconds): the open pool is kept, none is added.
    assert await reopen_demo_pool({"resources": development}) is None
    assert len(await _pools(development)) == 2


async def test_outside_development_the_demo_is_left_alone(
    resources: Resources, development: Resources
) -> None:
    first = await _seed(development)
    async with unit_of_work(development) as session:
        await pool_lifecycle.lock(session, development, None, first)
    assert resources.settings.env == "test"
    assert await reopen_demo_pool({"resources": resources}) is None
    disabled = development.settings.model_copy(update={"demo_enabled": False})
    assert not demo_service.keeps_pool_open(disabled)
    assert await _pools(development) == [(first, "locked")]


async def test_without_a_seeded_demo_nothing_is_opened(development: Resources) -> None:
    assert await reopen_demo_pool({"resources": development}) is None
    assert await _pools(development) == []
