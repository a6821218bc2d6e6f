"""Async engines and session factories: one for writes (the primary), one for lag-tolerant reads."""

from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.settings import Settings


def create_engine(url: str, settings: Settings) -> AsyncEngine:
    return create_async_engine(
        url,
        # No overflow: a connection opened for a burst and closed after it costs more (a
        # connection set-up, a backend started) than waiting a moment for a pooled one.
        pool_size=settings.database_pool_size,
        max_overflow=0,
        pool_pre_ping=True,
        connect_args={"server_settings": {"application_name": "streampools"}},
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
