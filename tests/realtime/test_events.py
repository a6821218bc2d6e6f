"""The Socket.IO protocol end to end: join with a snapshot, bet with an ack, and every client in
the room sees pools move, lock, resolve and settle."""

from typing import Any

import httpx
from sqlalchemy import text

from app.kit.resources import Resources
from app.kit.uow import unit_of_work
from tests.conftest import LiveServer, RunJobs
from tests.realtime.conftest import Connect, SocketClient
from tests.worlds import World, open_pool


def bet_event(pool: dict[str, Any], outcome: int, amount: Any, key: str) -> dict[str, Any]:
    return {
        "pool_id": pool["id"],
        "outcome_id": pool["outcomes"][outcome]["id"],
        "amount": amount,
        "idempotency_key": key,
    }


async def test_join_gives_a_snapshot_and_a_bet_reaches_everyone_in_the_room(
    client: httpx.AsyncClient, world: World, connect: Connect
) -> None:
    pool = await open_pool(client, world)
    bettor = await connect(world.viewers[0])
    other = await connect(world.viewers[1])
    watcher = await connect()  # anonymous: may watch

    snapshot = await bettor.call("channel:join", {"channel": world.channel_id})
    assert snapshot["ok"] is True
    assert snapshot["channel"]["id"] == world.channel_id
    assert [p["id"] for p in snapshot["pools"]] == [pool["id"]]
    assert snapshot["pools"][0]["total"] == 0
    assert snapshot["balances"] == [
        {"currency": world.currency, "balance": 10_000, "frozen": False}
    ]
    assert snapshot["leaderboard"]["rows"] == []
    assert snapshot["chat"] == []
    for viewer in (other, watcher):
        assert (await viewer.call("channel:join", {"channel": world.channel_id}))["ok"] is True
    anonymous_snapshot = await watcher.call("channel:join", {"channel": world.channel_id})
    assert anonymous_snapshot["balances"] == []

    ack = await bettor.call("bet:place", bet_event(pool, 0, 500, "b-1"))
    assert ack["ok"] is True, ack
    assert ack["bet"]["position"] == 500
    assert ack["bet"]["balance"] == 9_500

    for viewer in (bettor, other, watcher):
        update = await viewer.wait_for("pool:updated", lambda u: u["total"] == 500)
        assert update["id"] == pool["id"]
        assert update["bettors"] == 1
        assert [o["total"] for o in update["outcomes"]] == [500, 0]
    wallet = await bettor.wait_for("wallet:updated")
    assert wallet == {"currency": world.currency, "balance": 9_500}
    assert other.received("wallet:updated") == []

    # The snapshot of a client joining now shows the bettor's position.
    late = await bettor.call("channel:join", {"channel": world.channel_id})
    assert late["pools"][0]["my_position"] == {
        "outcome_id": pool["outcomes"][0]["id"],
        "amount": 500,
        "payout": None,
    }


async def test_pool_updates_are_coalesced_and_end_with_the_final_totals(
    client: httpx.AsyncClient, world: World, connect: Connect
) -> None:
    pool = await open_pool(client, world, min_stake=1)
    watcher = await connect()
    await watcher.call("channel:join", {"channel": world.channel_id})
    bettors = [await connect(viewer) for viewer in world.viewers]
    placed = 0
    for round_ in range(10):
        for n, bettor in enumerate(bettors):
            ack = await bettor.call("bet:place", bet_event(pool, n % 2, 1, f"r{round_}"))
            assert ack["ok"] is True, ack
            placed += 1
    final = await watcher.wait_for("pool:updated", lambda u: u["total"] == placed)
    assert final["bettors"] == len(bettors)
    # 40 bets in a burst became a handful of updates, not one per bet.
    assert len(watcher.received("pool:updated")) < placed / 4


async def test_lock_resolve_and_settlement_reach_every_client(
    client: httpx.AsyncClient, world: World, connect: Connect, run_jobs: RunJobs
) -> None:
    pool = await open_pool(client, world)
    winner, loser = await connect(world.viewers[0]), await connect(world.viewers[1])
    watcher = await connect()
    for socket in (winner, loser, watcher):
        await socket.call("channel:join", {"channel": world.channel_id})
    assert (await winner.call("bet:place", bet_event(pool, 0, 300, "w")))["ok"] is True
    assert (await loser.call("bet:place", bet_event(pool, 1, 500, "l")))["ok"] is True

    owner = world.owner.auth
    assert (await client.post(f"/api/v1/pools/{pool['id']}/lock", headers=owner)).is_success
    yes = pool["outcomes"][0]["id"]
    resolved = await client.post(
        f"/api/v1/pools/{pool['id']}/resolve", json={"outcome_id": yes}, headers=owner
    )
    assert resolved.is_success
    await run_jobs()  # the worker settles and updates the leaderboard; it emits through Redis

    for socket in (winner, loser, watcher):
        locked = await socket.wait_for("pool:locked")
        assert locked["status"] == "locked"
        assert locked["total"] == 800
        assert (await socket.wait_for("pool:resolved"))["winning_outcome_id"] == yes
        assert (await socket.wait_for("pool:settled"))["status"] == "settled"
        board = await socket.wait_for("leaderboard:updated")
        assert board["rows"][0]["user_id"] == world.viewers[0].id
        assert board["rows"][0]["net"] == 500
    assert await winner.wait_for("wallet:updated", lambda w: w["balance"] == 10_500)
    notice = await winner.wait_for("notification")
    assert notice["kind"] == "pool.won" and notice["id"] > 0  # the row in the winner's inbox
    assert notice["pool_id"] == pool["id"]
    assert (notice["data"]["stake"], notice["data"]["paid"]) == (300, 800)
    lost = await loser.wait_for("notification")
    assert (lost["kind"], lost["data"]["paid"]) == ("pool.lost", 0)
    assert watcher.received("notification") == []


async def test_bets_that_cannot_be_placed_get_the_rest_error_codes(
    client: httpx.AsyncClient, world: World, connect: Connect
) -> None:
    pool = await open_pool(client, world, max_stake=1_000_000)
    viewer = await connect(world.viewers[0])
    anonymous = await connect()

    async def code(socket: Any, payload: Any, event: str = "bet:place") -> str:
        ack = await socket.call(event, payload)
        assert ack["ok"] is False
        return str(ack["error"]["code"])

    assert await code(viewer, bet_event(pool, 0, 20_000, "too-much")) == "insufficient_funds"
    assert await code(viewer, bet_event(pool, 0, 5, "too-little")) == "stake_out_of_range"
    assert await code(anonymous, bet_event(pool, 0, 100, "anon")) == "not_authenticated"
    assert await code(viewer, {**bet_event(pool, 0, 100, "x"), "pool_id": 999_999}) == (
        "pool_not_found"
    )
    for bad in (
        {"pool_id": pool["id"]},
        bet_event(pool, 0, "100", "str"),
        bet_event(pool, 0, 10.5, "float"),
        bet_event(pool, 0, -100, "neg"),
        bet_event(pool, 0, 10**15, "huge"),
        {**bet_event(pool, 0, 100, "extra"), "user_id": world.viewers[1].id},
        "not an object",
        None,
    ):
        assert await code(viewer, bad) == "validation_error", bad
    assert await code(viewer, {}, event="no:such:event") == "unknown_event"

    assert (await viewer.call("bet:place", bet_event(pool, 0, 100, "first")))["ok"] is True
    assert await code(viewer, bet_event(pool, 1, 100, "other-side")) == "outcome_already_chosen"
    assert await code(viewer, bet_event(pool, 0, 200, "first")) == "idempotency_key_reused"
    await client.post(f"/api/v1/pools/{pool['id']}/lock", headers=world.owner.auth)
    assert await code(viewer, bet_event(pool, 0, 100, "late")) == "pool_not_open"

    wallets = (await client.get("/api/v1/me/wallets", headers=world.viewers[0].auth)).json()
    assert wallets["wallets"][0]["balance"] == 9_900  # only the one good bet moved money


async def test_joining_an_unknown_channel_is_refused_and_joins_nothing(
    world: World, connect: Connect, resources: Resources
) -> None:
    viewer = await connect(world.viewers[0])
    ack = await viewer.call("channel:join", {"channel": 424242})
    assert ack == {
        "ok": False,
        "error": {"code": "channel_not_found", "message": "No such channel."},
    }
    assert (await viewer.call("channel:leave", {"channel": world.channel_id}))["ok"] is True
    async with unit_of_work(resources) as session:
        assert await session.scalar(text("SELECT count(*) FROM chat_moderation")) == 0


async def test_long_polling_clients_get_the_same_events(
    world: World, connect: Connect, live_server: LiveServer
) -> None:
    poller = await SocketClient().connect(live_server.url, transports=("polling",))
    try:
        assert (await poller.call("channel:join", {"channel": world.channel_id}))["ok"] is True
        talker = await connect(world.viewers[0])
        said = await talker.call("chat:send", {"channel": world.channel_id, "text": "polling?"})
        assert await poller.wait_for("chat:message") == said["message"]
        assert poller.sio.transport() == "polling"
    finally:
        # A polling client's graceful close waits for its pending long-poll: end it at once.
        await poller.sio.eio.disconnect(abort=True)
