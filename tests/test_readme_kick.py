"""The README's Kick section as a newcomer runs it: the platform pointed at the fake Kick
(`make fake-kick`: its key fetched from the fake, as from Kick), the demo channel linked through
OAuth as its owner, a chatter betting from Kick chat through signed deliveries
(`make kick-event`) — and a second time in a row."""

import re

import pytest

from app.settings import Settings
from tests.fakes.kick import FakeKick
from tests.readme_platforms import fake_kick, kick_settings
from tests.served_at_port import live_server, port
from tests.test_readme import Platform, platform, readme_block, run_block

__all__ = ["fake_kick", "live_server", "platform", "port"]


@pytest.fixture
def settings(database_url: str, redis_url: str, fake_kick: FakeKick, port: int) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        public_url=f"http://127.0.0.1:{port}",
        **kick_settings(fake_kick),
    )


async def test_the_kick_section_works_twice(platform: Platform, fake_kick: FakeKick) -> None:
    block = readme_block("### Try it locally with the fake Kick", 2)
    totals = []
    for _ in range(2):
        lines = await run_block(platform, block)
        link = next(line for line in lines if "'platform': 'kick'" in line)
        assert "'external_id': '1337'" in link and "'status': 'verified'" in link
        assert any("chat.message.sent" in line and ": 200 " in line for line in lines), lines
        assert "ledger check: all invariants hold" in lines
        [total] = [int(line.split()[2]) for line in lines if re.fullmatch(r"\d+ open \d+", line)]
        totals.append(total)
    assert totals[1] == totals[0] + 100  # the chatter's second `!bet 1 100`, on the same pool
    # The link made the channel's event subscriptions at Kick.
    assert {s["event"] for s in fake_kick.subscriptions.values()} == {
        "livestream.status.updated",
        "chat.message.sent",
    }
