"""Sign in with a platform against its fake (Twitch, Kick): the settings pointing at them, and the
round trip a browser makes (our start, the platform's consent, our callback)."""

from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest
from pydantic import SecretStr

from app.models.channel import Platform
from app.platform.oauth import callback_path
from app.settings import Settings
from tests.fakes.kick import FakeKick
from tests.fakes.twitch import FakeTwitch
from tests.fakes.youtube import FakeYouTube

CALLBACK_PATH = callback_path(Platform.twitch)


class FakeSignIn(Protocol):
    def add_user(self, user_id: str, name: str) -> Any: ...


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


@pytest.fixture
def kick_settings(database_url: str, redis_url: str, fake_kick: FakeKick) -> Settings:
    return fake_kick.settings(database_url, redis_url)


@pytest.fixture
def youtube_settings(database_url: str, redis_url: str, fake_youtube: FakeYouTube) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        youtube_client_id=fake_youtube.client_id,
        youtube_client_secret=SecretStr(fake_youtube.client_secret),
        google_oauth_base=fake_youtube.url,
        google_accounts_base=fake_youtube.url,
        youtube_api_base=fake_youtube.api_url,
    )


async def start(
    client: httpx.AsyncClient,
    purpose: str,
    *,
    auth: dict[str, str] | None = None,
    platform: Platform = Platform.twitch,
    **fields: Any,
) -> dict[str, Any]:
    """``POST /auth/<platform>/start``; the client keeps the cookie it sets, as a browser
    does."""
    response = await client.post(
        f"/api/v1/auth/{platform.value}/start",
        json={"purpose": purpose, **fields},
        headers=auth or {},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def consent(
    fake: FakeSignIn,
    authorize_url: str,
    twitch_user_id: str,
    platform: Platform = Platform.twitch,
) -> dict[str, str]:
    """The platform's user approves the app: the query its redirect brings to our callback."""
    async with httpx.AsyncClient() as browser:
        response = await browser.get(
            f"{authorize_url}&{urlencode({'fake_user_id': twitch_user_id})}"
        )
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["location"])
    assert location.path == callback_path(platform)
    return dict(parse_qsl(location.query))


async def sign_in_with_twitch(
    client: httpx.AsyncClient,
    fake: FakeSignIn,
    twitch_user_id: str,
    purpose: str = "sign_in",
    *,
    auth: dict[str, str] | None = None,
    platform: Platform = Platform.twitch,
    **fields: Any,
) -> httpx.Response:
    """The whole round trip (with Twitch, or ``platform``); the callback's response."""
    started = await start(client, purpose, auth=auth, platform=platform, **fields)
    query = await consent(fake, started["authorize_url"], twitch_user_id, platform)
    return await client.get(callback_path(platform), params=query)
