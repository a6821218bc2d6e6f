"""Who may read /metrics: anyone in development, only the token's holder once a token is set,
nobody on the public port in production without one, and nobody there at all once metrics have
a port of their own."""

import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient
from pydantic import SecretStr

from app.asgi import create_app
from app.kit.embedded import free_port
from app.settings import Settings

TOKEN = "metrics-token-0123456789abcdef"


def _http_app(settings: Settings, **changes: object) -> Litestar:
    app = create_app(settings.model_copy(update=changes)).other_asgi_app
    assert isinstance(app, Litestar)
    return app


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_with_a_token_set_metrics_answer_only_its_holder(settings: Settings) -> None:
    app = _http_app(settings, metrics_token=SecretStr(TOKEN))
    async with AsyncTestClient(app=app) as client:
        await client.get("/healthz")
        for headers in ({}, _bearer("wrong"), _bearer(TOKEN[:-1]), {"Authorization": TOKEN}):
            refused = await client.get("/metrics", headers=headers)
            assert refused.status_code == 401, headers
            assert refused.json()["error"]["code"] == "metrics_token_required"
            assert refused.headers["www-authenticate"].startswith("Bearer")
            assert "streampools_requests_total" not in refused.text
        served = await client.get("/metrics", headers=_bearer(TOKEN))
        assert served.status_code == 200
        assert "streampools_requests_total" in served.text


async def test_production_serves_no_public_metrics_without_a_token(settings: Settings) -> None:
    async with AsyncTestClient(app=_http_app(settings, env="production")) as client:
        assert (await client.get("/metrics")).status_code == 404
    guarded = _http_app(settings, env="production", metrics_token=SecretStr(TOKEN))
    async with AsyncTestClient(app=guarded) as client:
        assert (await client.get("/metrics")).status_code == 401
        assert (await client.get("/metrics", headers=_bearer(TOKEN))).status_code == 200


async def test_metrics_on_a_port_of_their_own_leave_the_public_port(settings: Settings) -> None:
    port = free_port()
    app = _http_app(settings, metrics_port=port, metrics_token=SecretStr(TOKEN))
    async with AsyncTestClient(app=app) as client, httpx.AsyncClient(timeout=10) as scraper:
        await client.get("/healthz")
        assert (await client.get("/metrics", headers=_bearer(TOKEN))).status_code == 404
        url = f"http://127.0.0.1:{port}/metrics"
        refused = await scraper.get(url)
        assert refused.status_code == 401
        assert "streampools_requests_total" not in refused.text
        served = await scraper.get(url, headers=_bearer(TOKEN))
        assert served.status_code == 200
        assert 'path="/healthz"' in served.text
