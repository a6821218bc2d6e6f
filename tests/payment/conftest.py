"""Payments tests run against the local fake of Stripe's API, served on loopback."""

from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from app.kit.resources import Resources
from app.kit.uow import unit_of_work
from app.models.user import Role
from app.settings import Settings
from tests.conftest import serve
from tests.factories import DEFAULT_PASSWORD, bearer, create_user, register
from tests.fakes.stripe import FakeStripe

STRIPE_KEY = "sk_test_streampools"
WEBHOOK_SECRET = "whsec_test_streampools"

Client = httpx.AsyncClient


@pytest.fixture
async def fake_stripe() -> AsyncIterator[FakeStripe]:
    fake = FakeStripe(api_key=STRIPE_KEY)
    async with serve(fake) as url:
        fake.public_url = url
        yield fake


def payment_settings(
    database_url: str, redis_url: str, fake_stripe: FakeStripe, **overrides: object
) -> Settings:
    """Settings with payments on, against the fake Stripe."""
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        stripe_secret_key=SecretStr(STRIPE_KEY),
        stripe_webhook_secret=SecretStr(WEBHOOK_SECRET),
        stripe_api_base=fake_stripe.public_url,
        **overrides,  # type: ignore[arg-type]
    )


@pytest.fixture
def settings(database_url: str, redis_url: str, fake_stripe: FakeStripe) -> Settings:
    return payment_settings(database_url, redis_url, fake_stripe)


async def adult(client: Client) -> tuple[int, dict[str, str]]:
    """A signed-up user who confirmed an adult age."""
    body = await register(client)
    auth = bearer(body["access_token"])
    response = await client.post(
        "/api/v1/me/age-confirmation", json={"birth_date": "1990-01-01"}, headers=auth
    )
    assert response.status_code == 200
    return int(body["user"]["id"]), auth  # type: ignore[index]


async def admin_headers(client: Client, resources: Resources, settings: Settings) -> dict[str, str]:
    """The headers of a signed-in admin."""
    async with unit_of_work(resources) as session:
        user = await create_user(session, settings, role=Role.admin)
    login = await client.post(
        "/api/v1/auth/login", json={"email": user.email, "password": DEFAULT_PASSWORD}
    )
    return bearer(login.json()["access_token"])
