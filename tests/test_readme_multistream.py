"""The README's multistream walkthrough as a newcomer runs it: the platform pointed at the fakes
of Twitch, Kick and YouTube at once, the demo channel linked to all three through their OAuth
as its owner, Ada live on YouTube, and a viewer on each platform betting from its chat on the
one demo pool — and a second time in a row."""

import re

import pytest

from app.settings import Settings
from tests.fakes.kick import FakeKick
from tests.fakes.twitch import FakeTwitch
from tests.fakes.youtube import FakeYouTube
from tests.fakes.youtube.cli import ADA
from tests.readme_platforms import (
    fake_kick,
    fake_twitch,
    fake_youtube,
    kick_settings,
    pollers,
    twitch_settings,
    youtube_settings,
)
from tests.served_at_port import live_server, port
from tests.test_readme import Platform, platform, readme_block, run_block

__all__ = [
    "fake_kick",
    "fake_twitch",
    "fake_youtube",
    "live_server",
    "platform",
    "pollers",
    "port",
]


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
        **twitch_settings(fake_twitch),
        **kick_settings(fake_kick),
        **youtube_settings(fake_youtube),
    )


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
