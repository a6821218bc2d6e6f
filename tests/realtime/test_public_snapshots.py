"""Anonymous clients share one channel snapshot, and it is never older than the events they
would otherwise have missed: a chat message, a bet's totals or a transition heard before a join
is in that join's snapshot."""

import asyncio
from typing import Any

import httpx

from tests.realtime.conftest import Connect
from tests.worlds import World, bet, open_pool


async def join(connect: Connect, channel_id: int) -> Any:
    watcher = await connect()
    snapshot = await watcher.call("channel:join", {"channel": channel_id})
    assert snapshot["ok"] is True
    return snapshot


async def test_anonymous_joins_share_a_snapshot_that_follows_the_channel(
    client: httpx.AsyncClient, world: World, connect: Connect
) -> None:
    pool = await open_pool(client, world)
    first = await join(connect, world.channel_id)
    second = await join(connect, world.channel_id)
    assert first == second
    assert first["balances"] == []
    assert all(p.get("my_position") is None for p in first["pools"])

    talker = await connect(world.viewers[0])
    await talker.call("channel:join", {"channel": world.channel_id})
    said = await talker.call("chat:send", {"channel": world.channel_id, "text": "hello there"})
    await asyncio.sleep(0.2)  # the message's event is heard by the process
    after_chat = await join(connect, world.channel_id)
    assert [m["text"] for m in after_chat["chat"]][-1:] == ["hello there"]
    assert said["message"]["id"] == after_chat["chat"][-1]["id"]

    await bet(client, world.viewers[1], pool["id"], pool["outcomes"][0]["id"], 40, "s1")
    for _ in range(50):
        snapshot = await join(connect, world.channel_id)
        [live] = snapshot["pools"]
        if live["total"] == 40:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("a new join never saw the bet's total")

    await client.post(f"/api/v1/pools/{pool['id']}/lock", headers=world.owner.auth)
    await asyncio.sleep(0.2)
    [locked] = (await join(connect, world.channel_id))["pools"]
    assert locked["status"] == "locked"
