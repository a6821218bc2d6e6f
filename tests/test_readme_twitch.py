"""The README's Twitch section as a newcomer runs it: the platform pointed at the fake Twitch
(`make fake-twitch`), the demo channel linked through OAuth as its owner, a chatter betting from
chat through signed EventSub deliveries (`make twitch-event`) — and a second time in a row."""

import re

import pytest

from app.settings import Settings
from tests.fakes.twitch import FakeTwitch
from tests.readme_platforms import fake_twitch, twitch_settings
from tests.served_at_port import live_server, port
from tests.test_readme import Platform, platform, readme_block, run_block

__all__ = ["fake_twitch", "live_server", "platform", "port"]


@pytest.fixture
def settings(database_url: str, redis_url: str, fake_twitch: FakeTwitch, port: int) -> Settings:
    # Twitch sends the browser back to the public URL: the one the platform really serves on.
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        public_url=f"http://127.0.0.1:{port}",
        **twitch_settings(fake_twitch),
    )


async def test_the_twitch_section_works_twice(platform: Platform, fake_twitch: FakeTwitch) -> None:
    block = readme_block("### Try it locally with the fake Twitch", 2)
    totals = []
    for _ in range(2):
        lines = await run_block(platform, block)
        link = next(line for line in lines if "'platform': 'twitch'" in line)
        assert "'external_id': '1337'" in link and "'status': 'verified'" in link
        assert any("channel.chat.message" in line and ": 200 " in line for line in lines)
        assert "ledger check: all invariants hold" in lines
        [total] = [int(line.split()[2]) for line in lines if re.fullmatch(r"\d+ open \d+", line)]
        totals.append(total)
    assert totals[1] == totals[0] + 100  # the chatter's second `!bet 1 100`, on the same pool
    # The link created the channel's EventSub subscriptions at Twitch.
    assert {s["type"] for s in fake_twitch.subscriptions.values()} >= {
        "stream.online",
        "stream.offline",
    }
