"""A channel's room is public: its drafts appear in no snapshot and no event there."""

import httpx

from tests.conftest import RunJobs
from tests.realtime.conftest import Connect
from tests.worlds import World, open_pool


async def test_drafts_stay_out_of_the_channel_room(
    client: httpx.AsyncClient, world: World, connect: Connect, run_jobs: RunJobs
) -> None:
    live = await open_pool(client, world)
    draft = await open_pool(client, world, open=False, title="Secret giveaway pool")
    watchers = [await connect(), await connect(world.viewers[0]), await connect(world.owner)]
    for watcher in watchers:
        snapshot = await watcher.call("channel:join", {"channel": world.channel_id})
        assert [p["id"] for p in snapshot["pools"]] == [live["id"]]

    cancelled = await client.post(f"/api/v1/pools/{draft['id']}/cancel", headers=world.owner.auth)
    assert cancelled.status_code == 200, cancelled.text
    await run_jobs()  # the refund of the (empty) draft
    # Events of one channel arrive in order: once the next pool's opening is in, anything
    # about the draft would have been too.
    later = await open_pool(client, world)
    for watcher in watchers:
        await watcher.wait_for("pool:opened", lambda p: p["id"] == later["id"])
        seen = [body for name, body in watcher.events if isinstance(body, dict)]
        assert all(body.get("id") != draft["id"] for body in seen), watcher.events
        assert "Secret" not in repr(watcher.events)
