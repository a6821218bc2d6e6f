"""The README's YouTube section as a newcomer runs it: the platform pointed at the fake YouTube,
Ada's broadcast live (`make youtube-live`), the demo channel linked through Google OAuth as its
owner, a viewer betting from the live chat (`make youtube-say`) read by the integrations worker's
poller — and a second time in a row (a new broadcast, the same pool)."""

import asyncio
import re
from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from app.settings import Settings
from tests.fakes.youtube import FakeYouTube
from tests.fakes.youtube.cli import ADA, BOT
from tests.served_at_port import live_server, port
from tests.test_readme import Platform, platform, readme_block, run_block
from workers.integrations import serve

__all__ = ["live_server", "platform", "port"]


@pytest.fixture
async def fake_youtube(fake_youtube: FakeYouTube, monkeypatch: pytest.MonkeyPatch) -> FakeYouTube:
    """The fake as `make fake-youtube` runs it, where `make youtube-live` finds it."""
    fake_youtube.add_user(ADA, "Ada")
    fake_youtube.add_user(BOT, "StreampoolsBot")
    monkeypatch.setenv("FAKE_YOUTUBE_URL", fake_youtube.url)
    return fake_youtube


@pytest.fixture
def settings(database_url: str, redis_url: str, fake_youtube: FakeYouTube, port: int) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        public_url=f"http://127.0.0.1:{port}",
        youtube_client_id=fake_youtube.client_id,
        youtube_client_secret=SecretStr(fake_youtube.client_secret),
        google_oauth_base=fake_youtube.url,
        google_accounts_base=fake_youtube.url,
        youtube_api_base=fake_youtube.api_url,
    )


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


async def test_the_youtube_section_works_twice(
    platform: Platform, pollers: None, fake_youtube: FakeYouTube
) -> None:
    block = readme_block("### Try it locally with the fake YouTube", 2)
    totals = []
    for _ in range(2):
        lines = await run_block(platform, block)
        link = next(line for line in lines if "'platform': 'youtube'" in line)
        assert f"'external_id': '{ADA}'" in link and "'status': 'verified'" in link
        assert "ledger check: all invariants hold" in lines
        [total] = [int(line.split()[2]) for line in lines if re.fullmatch(r"\d+ open \d+", line)]
        totals.append(total)
    assert totals[1] == totals[0] + 100  # the viewer's second `!bet 1 100`, on the same pool
    assert len(fake_youtube.chats) == 2  # two broadcasts, each chat read
