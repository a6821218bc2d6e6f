"""The README's multistream walkthrough as a newcomer runs it: the platform pointed at the fakes
of Twitch, Kick and YouTube at once, the demo channel linked to all three through their OAuth
as its owner, Ada live on YouTube, and a viewer on each platform betting from its chat on the
one demo pool — and a second time in a row."""

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from app.settings import Settings
from tests.fakes.kick import FakeKick
from tests.fakes.kick.signing import private_pem
from tests.fakes.twitch import FakeTwitch
from tests.fakes.youtube import FakeYouTube
from tests.fakes.youtube.cli import ADA, BOT
from tests.served_at_port import live_server, port
from tests.test_readme import Platform, platform, readme_block, run_block
from workers.integrations import serve

__all__ = ["live_server", "platform", "port"]

#: What the README's `make run` line and `make twitch-event` use.
EVENTSUB_SECRET = "demo-eventsub-secret"


@pytest.fixture
async def fake_twitch() -> AsyncIterator[FakeTwitch]:
    async with FakeTwitch() as fake:
        fake.add_user("1337", "ada", "Ada")  # as `make fake-twitch` knows them
        fake.add_user("4242", "streampools_bot")
        yield fake


@pytest.fixture
async def fake_kick(
    fake_kick: FakeKick, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> FakeKick:
    """As `make fake-kick` runs it: its users, its key where `make kick-event` signs with it."""
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
def settings(
    database_url: str,
    redis_url: str,
    fake_twitch: FakeTwitch,
    fake_kick: FakeKick,
    fake_youtube: FakeYouTube,
    port: int,
) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        public_url=f"http://127.0.0.1:{port}",
        twitch_client_id=fake_twitch.client_id,
        twitch_client_secret=SecretStr(fake_twitch.client_secret),
        twitch_eventsub_secret=SecretStr(EVENTSUB_SECRET),
        twitch_id_base=fake_twitch.id_url,
        twitch_api_base=fake_twitch.helix_url,
        kick_client_id=fake_kick.client_id,
        kick_client_secret=SecretStr(fake_kick.client_secret),
        kick_id_base=fake_kick.url,
        kick_api_base=fake_kick.url,
        youtube_client_id=fake_youtube.client_id,
        youtube_client_secret=SecretStr(fake_youtube.client_secret),
        google_oauth_base=fake_youtube.url,
        google_accounts_base=fake_youtube.url,
        youtube_api_base=fake_youtube.api_url,
    )


@pytest.fixture
async def pollers(platform: Platform) -> AsyncIterator[None]:
    """The integrations worker, as `make run` starts it; stopped as by SIGTERM."""
    stop = asyncio.Event()
    task = asyncio.create_task(serve(platform.settings, stop))
    try:
        yield
    finally:
        stop.set()
        assert await task == 0


async def test_the_multistream_walkthrough_works_twice(platform: Platform, pollers: None) -> None:
    block = readme_block("### Try it locally with the three fakes", 1)
    totals = []
    for _ in range(2):
        lines = await run_block(platform, block)
        links = [line for line in lines if line.startswith("{") and "'platform'" in line]
        assert len(links) == 3, lines
        for link, (name, owner) in zip(
            links, [("twitch", "1337"), ("kick", "1337"), ("youtube", ADA)], strict=True
        ):
            assert f"'platform': '{name}'" in link and f"'external_id': '{owner}'" in link
            assert "'status': 'verified'" in link
        assert "ledger check: all invariants hold" in lines
        [total] = [int(line.split()[2]) for line in lines if re.fullmatch(r"\d+ open \d+", line)]
        totals.append(total)
    assert totals[1] == totals[0] + 300  # a bet of 100 from each of the three chats
