"""The README's YouTube section as a newcomer runs it: the platform pointed at the fake YouTube,
Ada's broadcast live (`make youtube-live`), the demo channel linked through Google OAuth as its
owner, a viewer betting from the live chat (`make youtube-say`) read by the integrations worker's
poller — and a second time in a row (a new broadcast, the same pool)."""

import re

import pytest

from app.settings import Settings
from tests.fakes.youtube import FakeYouTube
from tests.fakes.youtube.cli import ADA
from tests.readme_platforms import fake_youtube, pollers, youtube_settings
from tests.served_at_port import live_server, port
from tests.test_readme import Platform, platform, readme_block, run_block

__all__ = ["fake_youtube", "live_server", "platform", "pollers", "port"]


@pytest.fixture
def settings(database_url: str, redis_url: str, fake_youtube: FakeYouTube, port: int) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        public_url=f"http://127.0.0.1:{port}",
        **youtube_settings(fake_youtube),
    )


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
