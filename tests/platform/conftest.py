"""Sign in with Twitch against the fake Twitch: the settings pointing at it, and the round trip
a browser makes (our start, Twitch's consent, our callback)."""

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest
from pydantic import SecretStr

from app.models.channel import Platform
from app.platform.oauth import callback_path
from app.settings import Settings
from tests.fakes.twitch import FakeTwitch

CALLBACK_PATH = callback_path(Platform.twitch)


@pytest.fixture
def twitch_settings(database_url: str, redis_url: str, fake_twitch: FakeTwitch) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        twitch_client_id=fake_twitch.client_id,
        twitch_client_secret=SecretStr(fake_twitch.client_secret),
        twitch_id_base=fake_twitch.id_url,
        twitch_api_base=fake_twitch.helix_url,
    )


async def start(
    client: httpx.AsyncClient,
    purpose: str,
    *,
    auth: dict[str, str] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """``POST /auth/twitch/start``; the client keeps the cookie it sets, as a browser does."""
    response = await client.post(
        "/api/v1/auth/twitch/start", json={"purpose": purpose, **fields}, headers=auth or {}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def consent(fake: FakeTwitch, authorize_url: str, twitch_user_id: str) -> dict[str, str]:
    """The Twitch user approves the app: the query Twitch's redirect brings to our callback."""
    async with httpx.AsyncClient() as browser:
        response = await browser.get(
            f"{authorize_url}&{urlencode({'fake_user_id': twitch_user_id})}"
        )
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["location"])
    assert location.path == CALLBACK_PATH
    return dict(parse_qsl(location.query))


async def sign_in_with_twitch(
    client: httpx.AsyncClient,
    fake: FakeTwitch,
    twitch_user_id: str,
    purpose: str = "sign_in",
    *,
    auth: dict[str, str] | None = None,
    **fields: Any,
) -> httpx.Response:
    """The whole round trip; the callback's response."""
    started = await start(client, purpose, auth=auth, **fields)
    query = await consent(fake, started["authorize_url"], twitch_user_id)
    return await client.get(CALLBACK_PATH, params=query)
