"""`make bench ONLY=platforms`'s chat pipeline part, run small: web and the worker started as
the bench starts them, a few `!bet`s from each of Twitch, Kick and YouTube through their real
entry points into one channel linked to all three, and the same over REST. Proves the bench's
code path still runs (and the three platforms' pipeline with real processes); no timings are
checked, only that every bet was placed, answered in each chat, and the report prints."""

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from tests.bench import chat_pipeline
from tests.bench.stack import Stack
from tests.conftest import Servers

RATE = 2
SECONDS = 1


async def test_chat_commands_from_three_platforms_place_their_bets(
    servers: Servers,
    database_url: str,
    redis_url: str,
    kick_key: RSAPrivateKey,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    stack = Stack(tmp_path, servers.postgres, servers.redis, database_url.rsplit("/", 1)[1])
    assert stack.database_url == database_url and stack.redis.url == redis_url

    results = await chat_pipeline.measure(
        stack,
        rate=RATE,
        seconds=SECONDS,
        in_flight=2,
        warm_up=1,
        kick_key=kick_key,
        web=1,
        youtube_poll_seconds=0.5,
    )

    count = RATE * SECONDS
    phases = (results.fixed, results.flat)
    for phase in phases:
        assert set(phase.offers) == set(chat_pipeline.PLATFORMS)
        for offer in phase.offers.values():
            assert offer.failures == 0
            assert offer.landed(results.seen) == count, offer.label
    for reference in (results.fixed_ref, results.flat_ref):
        assert reference.offers["rest"].landed(results.seen) == 3 * count
    # Each platform's commands (the warm-up's too) recorded once, none refused, each bet
    # confirmed in the platform's chat.
    assert results.commands == {(p, "ok"): 2 * count + 1 for p in chat_pipeline.PLATFORMS}
    assert results.replies.confirmed == dict.fromkeys(chat_pipeline.PLATFORMS, 2 * count + 1)

    chat_pipeline.print_report(results)
    printed = capsys.readouterr().out
    assert "chat commands through the whole pipeline" in printed
    assert "every chat command placed its bet" in printed
