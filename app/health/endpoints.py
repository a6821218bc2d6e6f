"""Liveness and readiness probes."""

import asyncio

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from sqlalchemy import text

from app.health.schemas import Readiness
from app.kit.resources import Resources

PROBE_TIMEOUT_SECONDS = 2.0


class HealthController(Controller):
    tags = ["operations"]
    include_in_schema = True

    @get("/healthz")
    async def healthz(self) -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @get(
        "/readyz",
        responses={
            503: ResponseSpec(
                Readiness, description="A dependency does not answer.", generate_examples=False
            )
        },
    )
    async def readyz(self, resources: NamedDependency[Resources]) -> Response[Readiness]:
        """PostgreSQL and Redis answer; 503 naming the one that does not."""
        checks = dict(
            zip(
                ("postgres", "redis"),
                await asyncio.gather(_check_postgres(resources), _check_redis(resources)),
                strict=True,
            )
        )
        ready = all(value == "ok" for value in checks.values())
        return Response(
            Readiness(status="ok" if ready else "unavailable", checks=checks),
            status_code=200 if ready else 503,
        )


async def _check_postgres(resources: NamedDependency[Resources]) -> str:
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_SECONDS), resources.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as error:
        return f"failed: {type(error).__name__}"
    return "ok"


async def _check_redis(resources: NamedDependency[Resources]) -> str:
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_SECONDS):
            await resources.redis.ping()
    except Exception as error:
        return f"failed: {type(error).__name__}"
    return "ok"
