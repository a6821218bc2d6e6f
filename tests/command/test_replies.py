"""The reply outbox: lines coalesced into chat messages under 500 characters, and a flush run
twice (arq may) never sends a message twice."""

import time

import msgspec
import pytest

from app.command.replies import compose, pending_key, reply_outbox
from app.command.schemas import ReplyLine
from app.kit.resources import Resources
from app.settings import Settings
from tests.command.conftest import BROADCASTER, link_bot
from tests.fakes.twitch.server import FakeTwitch


def _bet(n: int) -> ReplyLine:
    return ReplyLine(kind="bet", text=f"@viewer{n:03} {n * 10} on Outcome {n % 3}", at=float(n))


def test_bets_coalesce_into_messages_that_fit_in_chat() -> None:
    messages = compose([_bet(n) for n in range(60)])
    assert len(messages) > 1
    assert all(len(m.text) <= 500 and m.text.endswith(" ✓") for m in messages)
    named = [part for m in messages for part in m.text.removesuffix(" ✓").split(", ")]
    assert named == [_bet(n).text for n in range(60)]  # every bettor, once, in order
    assert messages[0].at == 0.0  # as old as its oldest line


def test_other_lines_keep_their_place_around_the_bets() -> None:
    lines = [
        ReplyLine(kind="text", text="Pool #1 is open", at=1),
        _bet(1),
        ReplyLine(kind="text", text="@a you have 5 points", at=2),
        _bet(2),
    ]
    assert [m.text for m in compose(lines)] == [
        f"Pool #1 is open · {_bet(1).text}, {_bet(2).text} ✓ · @a you have 5 points"
    ]


def test_an_overlong_line_is_clipped() -> None:
    [message] = compose([ReplyLine(kind="text", text="x" * 900, at=1)])
    assert len(message.text) == 500 and message.text.endswith("…")


@pytest.fixture
async def outbox(resources: Resources, settings: Settings, fake_twitch: FakeTwitch) -> Resources:
    await link_bot(resources, settings, fake_twitch)
    return resources


async def _queue(resources: Resources, *texts: str) -> None:
    key = pending_key("twitch", BROADCASTER)
    for text in texts:
        line = ReplyLine(kind="text", text=text, at=time.time())
        await resources.redis.rpush(key, _encode(line))  # type: ignore[misc]


def _encode(line: ReplyLine) -> str:
    return msgspec.json.encode(line).decode()


async def test_a_flush_run_twice_sends_once(outbox: Resources, fake_twitch: FakeTwitch) -> None:
    await _queue(outbox, "hello")
    assert await reply_outbox.send(outbox, "twitch", BROADCASTER, 7) == 1
    assert await reply_outbox.send(outbox, "twitch", BROADCASTER, 7) == 0
    assert [m["message"] for m in fake_twitch.chat_messages] == ["hello"]


async def test_a_message_a_dead_run_was_sending_is_not_sent_again(
    outbox: Resources, fake_twitch: FakeTwitch
) -> None:
    # A run died after marking "first" as being sent, with "second" still waiting.
    key = pending_key("twitch", BROADCASTER)
    first = _encode(ReplyLine(kind="text", text="first", at=time.time()))
    second = _encode(ReplyLine(kind="text", text="second", at=time.time()))
    await outbox.redis.set(f"{key}:sending:9", first)
    await outbox.redis.rpush(f"{key}:inflight:9", second)  # type: ignore[misc]
    assert await reply_outbox.send(outbox, "twitch", BROADCASTER, 9) == 1
    assert [m["message"] for m in fake_twitch.chat_messages] == ["second"]


async def test_stale_lines_are_dropped(outbox: Resources, fake_twitch: FakeTwitch) -> None:
    key = pending_key("twitch", BROADCASTER)
    old = ReplyLine(kind="text", text="too late", at=time.time() - 3600)
    await outbox.redis.rpush(key, _encode(old))  # type: ignore[misc]
    await _queue(outbox, "in time")
    await reply_outbox.send(outbox, "twitch", BROADCASTER, 11)
    assert [m["message"] for m in fake_twitch.chat_messages] == ["in time"]


async def test_our_own_rate_limit_holds_replies_back_for_later(
    outbox: Resources, fake_twitch: FakeTwitch
) -> None:
    outbox.settings = outbox.settings.model_copy(update={"chat_replies_per_window": 1})
    await _queue(outbox, "x" * 400, "y" * 400)  # two messages
    assert await reply_outbox.send(outbox, "twitch", BROADCASTER, 12) == 1
    assert [m["message"] for m in fake_twitch.chat_messages] == ["x" * 400]
    waiting = await outbox.redis.lrange(pending_key("twitch", BROADCASTER), 0, -1)  # type: ignore[misc]
    assert len(waiting) == 1 and "y" * 400 in waiting[0]


async def test_the_sweep_schedules_a_flush_for_waiting_replies(outbox: Resources) -> None:
    await _queue(outbox, "hello")
    await outbox.redis.sadd("command:replies:chats", f"twitch:{BROADCASTER}")  # type: ignore[misc]
    assert await reply_outbox.sweep(outbox) == 1
    await outbox.redis.delete(pending_key("twitch", BROADCASTER))
    assert await reply_outbox.sweep(outbox) == 0
    assert not await outbox.redis.smembers("command:replies:chats")  # type: ignore[misc]
