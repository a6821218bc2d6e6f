"""Long-lived connections a process holds: database engines, Redis, the job queue, the emitter."""

from dataclasses import dataclass
from typing import Protocol

from arq.connections import ArqRedis
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.kit.coalesce import Coalescer
from app.kit.db import create_engine, create_sessionmaker
from app.kit.emitter import SocketEmitter
from app.kit.jobs import create_job_pool
from app.kit.redisconn import connection_options
from app.settings import Settings
from integrations.firebase.client import FcmClient
from integrations.stripe.client import StripeClient


class Intake(Protocol):
    """A per-process writer that batches a domain's requests into shared transactions (the
    bet intake, ``app.pool.intake``), created by its domain on first use."""

    async def drain(self) -> None:
        """Return once everything submitted so far is written."""
        ...


@dataclass(slots=True)
class Resources:
    settings: Settings
    engine: AsyncEngine
    read_engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    read_sessionmaker: async_sessionmaker[AsyncSession]
    redis: Redis
    jobs: ArqRedis
    emitter: SocketEmitter
    #: Throttles live updates (``pool:updated``) to a few per second per pool.
    coalescer: Coalescer
    #: None when payments are not configured (no Stripe secret key).
    stripe: StripeClient | None
    #: None when pushes are off (no Firebase credentials): the inbox works without it.
    push: FcmClient | None = None
    #: The bet intake (``app.pool.intake.intake_of``), created on first use.
    bet_intake: Intake | None = None

    async def close(self) -> None:
        if self.bet_intake is not None:
            await self.bet_intake.drain()
        if self.stripe is not None:
            await self.stripe.aclose()
        if self.push is not None:
            await self.push.aclose()
        await self.coalescer.close()
        await self.emitter.close()
        await self.jobs.aclose()
        await self.redis.aclose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()
        await self.engine.dispose()


async def open_resources(settings: Settings) -> Resources:
    engine = create_engine(settings.database_url, settings)
    read_engine = (
        create_engine(settings.database_read_url, settings)
        if settings.database_read_url
        else engine
    )
    redis = Redis.from_url(settings.redis_url, decode_responses=True, **connection_options())
    return Resources(
        settings=settings,
        engine=engine,
        read_engine=read_engine,
        sessionmaker=create_sessionmaker(engine),
        read_sessionmaker=create_sessionmaker(read_engine),
        redis=redis,
        jobs=create_job_pool(settings.redis_url),
        emitter=SocketEmitter(settings.redis_url),
        coalescer=Coalescer(redis, settings.pool_update_interval_ms),
        stripe=(
            StripeClient(settings.stripe_secret_key.get_secret_value(), settings.stripe_api_base)
            if settings.payments_enabled
            else None
        ),
        push=(
            FcmClient.from_service_account(
                settings.firebase_credentials.get_secret_value(), endpoint=settings.fcm_api_base
            )
            if settings.push_enabled
            else None
        ),
    )
