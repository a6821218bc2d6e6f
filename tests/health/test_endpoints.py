"""Operations endpoints: liveness, readiness, metrics, OpenAPI, request ids, error shape."""

import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.settings import Settings

Client = httpx.AsyncClient


async def test_healthz_and_readyz_are_ok(client: Client) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"postgres": "ok", "redis": "ok"}


async def test_readyz_is_503_naming_redis_when_redis_is_down(settings: Settings) -> None:
    from app.asgi import create_app

    broken = settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    app = create_app(broken).other_asgi_app
    assert isinstance(app, Litestar)
    async with AsyncTestClient(app=app) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["postgres"] == "ok"
    assert response.json()["checks"]["redis"].startswith("failed")


async def test_readyz_is_503_naming_postgres_when_postgres_is_down(settings: Settings) -> None:
    from app.asgi import create_app

    broken = settings.model_copy(
        update={"database_url": "postgresql+asyncpg://postgres@127.0.0.1:1/none"}
    )
    app = create_app(broken).other_asgi_app
    assert isinstance(app, Litestar)
    async with AsyncTestClient(app=app) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["redis"] == "ok"
    assert response.json()["checks"]["postgres"].startswith("failed")


async def test_metrics_count_requests_by_route_and_status(client: Client) -> None:
    await client.get("/healthz")
    await client.get("/api/v1/me")
    text = (await client.get("/metrics")).text
    assert "streampools_requests_total" in text
    assert 'path="/healthz"' in text and 'status_code="200"' in text
    assert 'path="/api/v1/me"' in text and 'status_code="401"' in text
    assert "streampools_request_duration_seconds_bucket" in text


async def test_openapi_schema_lists_the_api(client: Client) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    assert "/api/v1/auth/register" in schema["paths"]
    assert "/api/v1/me" in schema["paths"]


async def test_every_response_carries_a_request_id(client: Client) -> None:
    response = await client.get("/healthz", headers={"X-Request-Id": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    generated = await client.get("/nope")
    assert len(generated.headers["x-request-id"]) == 32
    assert generated.status_code == 404
    assert generated.json()["error"]["code"] == "not_found"
    assert generated.json()["error"]["request_id"] == generated.headers["x-request-id"]
