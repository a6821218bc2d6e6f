"""Without Stripe settings, cash-in endpoints say so clearly."""

import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient
from pydantic import SecretStr

from app.asgi import create_app
from app.settings import Settings
from tests.factories import bearer, register


async def test_deposits_and_webhooks_answer_payments_not_configured(settings: Settings) -> None:
    unconfigured = settings.model_copy(
        update={"stripe_secret_key": SecretStr(""), "stripe_webhook_secret": SecretStr("")}
    )
    app = create_app(unconfigured).other_asgi_app
    assert isinstance(app, Litestar)
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as client:
        auth = bearer((await register(client))["access_token"])
        await client.post(
            "/api/v1/me/age-confirmation", json={"birth_date": "1990-01-01"}, headers=auth
        )
        deposit = await client.post(
            "/api/v1/payments/deposits", json={"amount": 1_000}, headers=auth
        )
        assert deposit.status_code == 503
        assert deposit.json()["error"]["code"] == "payments_not_configured"
        webhook = await client.post("/webhooks/stripe", content=b"{}")
        assert webhook.status_code == 503
        assert webhook.json()["error"]["code"] == "payments_not_configured"


async def test_checkout_return_pages_exist(client: httpx.AsyncClient) -> None:
    for path, words in (("/deposit/success", "Payment received"), ("/deposit/cancel", "cancelled")):
        page = await client.get(path)
        assert page.status_code == 200
        assert words in page.text
