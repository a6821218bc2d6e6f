"""Channel chat over Socket.IO: messages reach the room and the next joiner's snapshot;
moderators delete messages and time people out, and every such action is kept."""

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.kit.resources import Resources
from app.kit.uow import unit_of_work
from tests.realtime.conftest import Connect, SocketClient
from tests.worlds import World


async def joined(connect: Connect, world: World, *people: Any) -> list[SocketClient]:
    sockets = [await connect(person) for person in people]
    for socket in sockets:
        assert (await socket.call("channel:join", {"channel": world.channel_id}))["ok"] is True
    return sockets


def error_code(ack: dict[str, Any]) -> str:
    assert ack["ok"] is False, ack
    return str(ack["error"]["code"])


async def test_a_message_reaches_everyone_in_the_room_and_the_next_snapshot(
    world: World, connect: Connect
) -> None:
    talker, listener, watcher = await joined(
        connect, world, world.viewers[0], world.viewers[1], None
    )
    ack = await talker.call("chat:send", {"channel": world.channel_id, "text": "  gg no re  "})
    assert ack["ok"] is True, ack
    message = ack["message"]
    assert message["text"] == "gg no re"
    assert message["user_id"] == world.viewers[0].id
    assert message["display_name"] == "Viewer0"
    for socket in (talker, listener, watcher):
        assert await socket.wait_for("chat:message") == message

    latecomer = await connect(world.viewers[2])
    snapshot = await latecomer.call("channel:join", {"channel": world.channel_id})
    assert snapshot["chat"] == [message]


async def test_bad_messages_are_refused_with_a_reason(world: World, connect: Connect) -> None:
    talker, anonymous = await joined(connect, world, world.viewers[0], None)
    channel = world.channel_id
    assert error_code(await talker.call("chat:send", {"channel": channel, "text": ""})) == (
        "validation_error"
    )
    assert error_code(await talker.call("chat:send", {"channel": channel, "text": "   "})) == (
        "validation_error"
    )
    too_long = {"channel": channel, "text": "x" * 501}
    assert error_code(await talker.call("chat:send", too_long)) == "validation_error"
    assert error_code(await talker.call("chat:send", {"channel": 9_999, "text": "hi"})) == (
        "channel_not_found"
    )
    assert error_code(await anonymous.call("chat:send", {"channel": channel, "text": "hi"})) == (
        "not_authenticated"
    )
    ok = await talker.call("chat:send", {"channel": channel, "text": "x" * 500})
    assert ok["ok"] is True
    assert len(anonymous.received("chat:message")) <= 1


@pytest.mark.parametrize("bad", ["gg\x00", "a\x1b[2Jb", "two\nlines", "\ud800"])
async def test_control_characters_are_refused_and_nothing_is_broadcast_or_kept(
    world: World, connect: Connect, bad: str
) -> None:
    talker, listener = await joined(connect, world, world.viewers[0], world.viewers[1])
    ack = await talker.call("chat:send", {"channel": world.channel_id, "text": bad})
    assert error_code(ack) == "validation_error"
    assert ack["error"]["details"] == {"field": "text"}
    assert (await talker.call("chat:send", {"channel": world.channel_id, "text": "ok"}))["ok"]
    assert [m["text"] for m in [await listener.wait_for("chat:message")]] == ["ok"]
    assert [m["text"] for m in listener.received("chat:message")] == ["ok"]
    latecomer = await connect(world.viewers[2])
    snapshot = await latecomer.call("channel:join", {"channel": world.channel_id})
    assert [m["text"] for m in snapshot["chat"]] == ["ok"]


async def test_chat_is_rate_limited_per_user_across_connections(
    world: World, connect: Connect, resources: Resources
) -> None:
    first, second = await joined(connect, world, world.viewers[0], world.viewers[0])
    limit = resources.settings.chat_messages_per_window
    sent = [
        await socket.call("chat:send", {"channel": world.channel_id, "text": f"spam {n}"})
        for n in range(limit)
        for socket in (first, second)
    ]
    accepted = [ack for ack in sent if ack["ok"]]
    refused = [ack for ack in sent if not ack["ok"]]
    assert len(accepted) == limit
    assert {error_code(ack) for ack in refused} == {"rate_limited"}
    assert refused[0]["error"]["details"]["retry_after"] >= 1


async def test_moderators_delete_messages_and_time_viewers_out(
    world: World, connect: Connect, resources: Resources
) -> None:
    viewer, moderator, watcher = await joined(
        connect, world, world.viewers[0], world.moderator, world.viewers[1]
    )
    channel = world.channel_id
    message = (await viewer.call("chat:send", {"channel": channel, "text": "rude words"}))[
        "message"
    ]

    assert error_code(await watcher.call("chat:delete", {"message_id": message["id"]})) == (
        "forbidden"
    )
    assert error_code(await moderator.call("chat:delete", {"message_id": "nope"})) == (
        "message_not_found"
    )
    deleted = await moderator.call("chat:delete", {"message_id": message["id"]})
    assert deleted["ok"] is True, deleted
    for socket in (viewer, moderator, watcher):
        assert await socket.wait_for("chat:deleted") == {"id": message["id"], "channel_id": channel}
    snapshot = await watcher.call("channel:join", {"channel": channel})
    assert snapshot["chat"] == []

    timeout = {"channel": channel, "user_id": world.viewers[0].id, "seconds": 600}
    assert error_code(await watcher.call("chat:timeout", timeout)) == "forbidden"
    staff = {"channel": channel, "user_id": world.owner.id, "seconds": 600}
    assert error_code(await moderator.call("chat:timeout", staff)) == "forbidden"
    assert (await moderator.call("chat:timeout", timeout))["ok"] is True
    refused = await viewer.call("chat:send", {"channel": channel, "text": "let me talk"})
    assert error_code(refused) == "chat_timed_out"
    assert "until" in refused["error"]["details"]

    lifted = await moderator.call("chat:timeout", {**timeout, "seconds": 0})
    assert lifted["ok"] is True
    assert (await viewer.call("chat:send", {"channel": channel, "text": "sorry"}))["ok"] is True

    async with unit_of_work(resources) as session:
        actions = (
            await session.execute(
                text(
                    "SELECT action, actor_id, target_user_id, message_text"
                    " FROM chat_moderation ORDER BY id"
                )
            )
        ).all()
    mod, target = world.moderator.id, world.viewers[0].id
    assert [tuple(row) for row in actions] == [
        ("delete", mod, target, "rude words"),
        ("timeout", mod, target, None),
        ("timeout", mod, target, None),
    ]


async def test_moderation_records_cannot_be_rewritten(
    world: World, connect: Connect, resources: Resources
) -> None:
    _, moderator = await joined(connect, world, world.viewers[0], world.moderator)
    timeout = {"channel": world.channel_id, "user_id": world.viewers[0].id, "seconds": 60}
    assert (await moderator.call("chat:timeout", timeout))["ok"] is True
    for statement in ("UPDATE chat_moderation SET seconds = 0", "DELETE FROM chat_moderation"):
        async with resources.engine.connect() as connection:
            with pytest.raises(DBAPIError, match="append-only"):
                await connection.execute(text(statement))
