"""The fakes of Twitch, Kick and YouTube as the README's `make fake-*` commands run them, the
platform's settings pointing at each, and the integrations worker as `make run` starts it: what
the README's platform walkthroughs (tests/test_readme_*.py) run against."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from tests.fakes.kick import FakeKick
from tests.fakes.kick.signing import private_pem
from tests.fakes.twitch import FakeTwitch
from tests.fakes.youtube import FakeYouTube
from tests.fakes.youtube.cli import ADA, BOT
from tests.test_readme import Platform
from workers.integrations import serve

#: What the README's `make run` line and `make twitch-event` use.
EVENTSUB_SECRET = "demo-eventsub-secret"


@pytest.fixture
async def fake_twitch() -> AsyncIterator[FakeTwitch]:
    """As `make fake-twitch` runs it, with the users it knows."""
    async with FakeTwitch() as fake:
        fake.add_user("1337", "ada", "Ada")
        fake.add_user("4242", "streampools_bot")
        yield fake


@pytest.fixture
async def fake_kick(
    fake_kick: FakeKick, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> FakeKick:
    """As `make fake-kick` runs it: its users, its key in the file `make kick-event` signs with."""
    fake_kick.add_user("1337", "Ada")
    fake_kick.add_user("4242", "StreampoolsBot")
    key_file = tmp_path / "fake-kick-key.pem"
    key_file.write_text(private_pem(fake_kick.key))
    monkeypatch.setenv("KICK_KEY_FILE", str(key_file))
    return fake_kick


@pytest.fixture
async def fake_youtube(fake_youtube: FakeYouTube, monkeypatch: pytest.MonkeyPatch) -> FakeYouTube:
    """As `make fake-youtube` runs it, where `make youtube-live` and `youtube-say` find it."""
    fake_youtube.add_user(ADA, "Ada")
    fake_youtube.add_user(BOT, "StreampoolsBot")
    monkeypatch.setenv("FAKE_YOUTUBE_URL", fake_youtube.url)
    return fake_youtube


@pytest.fixture
async def pollers(platform: Platform) -> AsyncIterator[None]:
    """The integrations worker (its YouTube chat pollers), as `make run` starts it beside the
    web process and the worker; stopped as by SIGTERM."""
    stop = asyncio.Event()
    task = asyncio.create_task(serve(platform.settings, stop))
    try:
        yield
    finally:
        stop.set()
        assert await task == 0


def twitch_settings(fake: FakeTwitch) -> dict[str, Any]:
    """The platform's Twitch settings, pointed at the fake."""
    return {
        "twitch_client_id": fake.client_id,
        "twitch_client_secret": SecretStr(fake.client_secret),
        "twitch_eventsub_secret": SecretStr(EVENTSUB_SECRET),
        "twitch_id_base": fake.id_url,
        "twitch_api_base": fake.helix_url,
    }


def kick_settings(fake: FakeKick) -> dict[str, Any]:
    """The platform's Kick settings, pointed at the fake; no public key configured: the
    platform fetches the fake's, as it would Kick's."""
    return {
        "kick_client_id": fake.client_id,
        "kick_client_secret": SecretStr(fake.client_secret),
        "kick_id_base": fake.url,
        "kick_api_base": fake.url,
    }


def youtube_settings(fake: FakeYouTube) -> dict[str, Any]:
    """The platform's YouTube settings, pointed at the fake."""
    return {
        "youtube_client_id": fake.client_id,
        "youtube_client_secret": SecretStr(fake.client_secret),
        "google_oauth_base": fake.url,
        "google_accounts_base": fake.url,
        "youtube_api_base": fake.api_url,
    }
