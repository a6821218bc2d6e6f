"""The unit of work: one session and transaction per request, job or socket event, committed at
the edge, with its buffered side effects sent only after the commit succeeds."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.effects import effects_of
from app.kit.errors import AppError
from app.kit.resources import Resources


@asynccontextmanager
async def unit_of_work(resources: Resources) -> AsyncIterator[AsyncSession]:
    async with resources.sessionmaker() as session:
        effects = effects_of(session)
        try:
            yield session
        except AppError as error:
            if error.keeps_changes:
                await session.commit()
                await effects.run(resources.jobs, resources.emitter)
            else:
                await session.rollback()
                effects.clear()
            raise
        except BaseException:
            await session.rollback()
            effects.clear()
            raise
        await session.commit()
        await effects.run(resources.jobs, resources.emitter)


@asynccontextmanager
async def read_session(resources: Resources) -> AsyncIterator[AsyncSession]:
    """A read-only session, possibly on a replica: never commits."""
    async with resources.read_sessionmaker() as session:
        try:
            yield session
        finally:
            await session.rollback()
