"""Values PostgreSQL cannot hold and backends that do not answer get a clear error, never a 500,
and nothing is half-applied."""

import logging

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text

from app.kit.resources import Resources
from app.kit.uow import unit_of_work
from app.settings import Settings
from tests.factories import DEFAULT_PASSWORD, unique_email
from tests.worlds import World, open_pool, world

__all__ = ["world"]

HUGE = 2**70


async def test_ids_beyond_64_bits_are_refused_as_invalid(
    client: httpx.AsyncClient, world: World
) -> None:
    pool = await open_pool(client, world)
    owner, viewer = world.owner.auth, {**world.viewers[0].auth, "Idempotency-Key": "huge"}
    answers = [
        await client.get(f"/api/v1/pools/{HUGE}"),
        await client.post(f"/api/v1/pools/{HUGE}/lock", headers=owner),
        await client.get(f"/api/v1/channels/{HUGE}/leaderboard?currency=points:1&period=all"),
        await client.post(
            f"/api/v1/pools/{pool['id']}/bets",
            json={"outcome_id": HUGE, "amount": 10},
            headers=viewer,
        ),
        await client.post(
            f"/api/v1/channels/{world.channel_id}/moderators", json={"user_id": HUGE}, headers=owner
        ),
    ]
    for answer in answers:
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"]["code"] == "validation_error"
    wallets = (await client.get("/api/v1/me/wallets", headers=world.viewers[0].auth)).json()
    assert wallets["wallets"][0]["balance"] == 10_000


async def test_nul_characters_are_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, resources: Resources
) -> None:
    email = unique_email()
    body = {"email": email, "password": DEFAULT_PASSWORD, "display_name": "a\u0000b"}
    answer = await client.post("/api/v1/auth/register", json=body)
    assert answer.status_code == 422
    assert "NUL" in answer.json()["error"]["message"]
    async with unit_of_work(resources) as session:
        assert await session.scalar(text("SELECT count(*) FROM users")) == 0


async def test_a_redis_outage_answers_503_not_500_and_logs_one_line(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    from app.asgi import create_app

    broken = settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    app = create_app(broken).other_asgi_app
    assert isinstance(app, Litestar)
    logging.getLogger().addHandler(caplog.handler)  # create_app set the process's handlers
    async with AsyncTestClient(app=app) as http:
        login = await http.post(
            "/api/v1/auth/login", json={"email": unique_email(), "password": DEFAULT_PASSWORD}
        )
    assert login.status_code == 503
    assert login.json()["error"]["code"] == "service_unavailable"
    logged = [r for r in caplog.records if r.name == "streampools.http"]
    assert [(r.levelname, r.exc_info) for r in logged] == [("WARNING", None)]
    assert "ConnectionError" in logged[0].getMessage()
