"""OBS overlays on Socket.IO: a socket connected with an overlay key watches its key's channel
(the anonymous snapshot, live updates) and does nothing else; a bad or revoked key is refused at
connect, and revoking a key drops its overlays on every web process at once."""

from typing import Any

import httpx
import pytest
import socketio

from app.auth import revocation
from app.kit.resources import Resources
from tests.conftest import LiveServer
from tests.realtime.conftest import Connect, SocketClient
from tests.realtime.test_cluster import two_web_processes
from tests.realtime.test_revocation import dropped
from tests.worlds import World, open_pool

__all__ = ["two_web_processes"]


async def make_key(client: httpx.AsyncClient, world: World, label: str = "Overlay") -> Any:
    response = await client.post(
        f"/api/v1/channels/{world.channel_id}/overlay-keys",
        json={"label": label},
        headers=world.owner.auth,
    )
    assert response.status_code == 201, response.text
    return response.json()


async def revoke(client: httpx.AsyncClient, world: World, key: Any) -> None:
    response = await client.delete(
        f"/api/v1/channels/{world.channel_id}/overlay-keys/{key['id']}", headers=world.owner.auth
    )
    assert response.status_code == 204, response.text


async def refusal(url: str, auth: Any) -> Any:
    """The connect_error a client gets for connecting with ``auth``."""
    client = SocketClient()
    refusals: list[Any] = []
    client.sio.on("connect_error", refusals.append)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.sio.connect(url, auth=auth, transports=["websocket"], wait_timeout=10)
    return refusals[0]


async def test_an_overlay_watches_its_channel_as_an_anonymous_viewer_would(
    client: httpx.AsyncClient, world: World, connect: Connect
) -> None:
    pool = await open_pool(client, world)
    key = await make_key(client, world)
    overlay = await connect(overlay_key=key["key"])
    bettor = await connect(world.viewers[0])

    assert await overlay.call("whoami") == {
        "ok": True,
        "user_id": None,
        "overlay": {"channel_id": world.channel_id},
    }
    snapshot = await overlay.call("channel:join", {"channel": world.channel_id})
    assert snapshot["ok"] is True, snapshot
    assert snapshot["channel"]["id"] == world.channel_id
    assert [p["id"] for p in snapshot["pools"]] == [pool["id"]]
    assert snapshot["balances"] == []
    assert all(p.get("my_position") is None for p in snapshot["pools"])

    bet = {
        "pool_id": pool["id"],
        "outcome_id": pool["outcomes"][1]["id"],
        "amount": 300,
        "idempotency_key": "overlay-watch",
    }
    assert (await bettor.call("bet:place", bet))["ok"] is True
    update = await overlay.wait_for("pool:updated", lambda u: u["total"] == 300)
    assert [o["total"] for o in update["outcomes"]] == [0, 300]
    assert overlay.received("wallet:updated") == []
    assert (await overlay.call("channel:leave", {"channel": world.channel_id}))["ok"] is True


async def test_an_overlay_may_not_join_another_channel_nor_do_anything_but_watch(
    client: httpx.AsyncClient, world: World, connect: Connect
) -> None:
    pool = await open_pool(client, world)
    key = await make_key(client, world)
    overlay = await connect(overlay_key=key["key"])
    viewer = await connect(world.viewers[0])
    assert (await viewer.call("channel:join", {"channel": world.channel_id}))["ok"] is True
    said = await viewer.call("chat:send", {"channel": world.channel_id, "text": "hi overlay"})

    elsewhere = await overlay.call("channel:join", {"channel": world.channel_id + 1})
    assert elsewhere["ok"] is False
    assert elsewhere["error"]["code"] == "forbidden"

    bet = {
        "pool_id": pool["id"],
        "outcome_id": pool["outcomes"][0]["id"],
        "amount": 100,
        "idempotency_key": "overlay-bet",
    }
    for event, payload in [
        ("bet:place", bet),
        ("bet:place", {}),  # refused as read-only before its payload is looked at
        ("chat:send", {"channel": world.channel_id, "text": "from the overlay"}),
        ("chat:delete", {"message_id": said["message"]["id"]}),
        (
            "chat:timeout",
            {"channel": world.channel_id, "user_id": world.viewers[0].id, "seconds": 60},
        ),
        ("auth:refresh", {"token": world.owner.token}),
    ]:
        ack = await overlay.call(event, payload)
        assert ack["ok"] is False, (event, ack)
        assert ack["error"]["code"] == "overlay_read_only", (event, ack)
    # Nothing happened: no bet, no message, the viewer's message stands.
    answered = await client.get(f"/api/v1/pools/{pool['id']}")
    assert answered.json()["total"] == 0
    snapshot = await viewer.call("channel:join", {"channel": world.channel_id})
    assert [m["text"] for m in snapshot["chat"]] == ["hi overlay"]
    assert (await overlay.call("channel:join", {"channel": world.channel_id}))["ok"] is True


async def test_unknown_malformed_and_revoked_keys_are_refused_at_connect(
    client: httpx.AsyncClient, world: World, live_server: LiveServer
) -> None:
    key = await make_key(client, world)
    await revoke(client, world, key)
    url = live_server.url
    for auth in [
        {"overlay_key": key["key"]},  # revoked
        {"overlay_key": "ovk_" + "A" * 43},
        {"overlay_key": "not a key"},
        {"overlay_key": ""},
        {"overlay_key": 12345},
        {"overlay_key": "ovk_\ud800"},
        {"overlay_key": "ovk_" + "A" * 5000},
    ]:
        refused = await refusal(url, auth)
        assert refused["data"] == {"code": "invalid_overlay_key"}, (auth, refused)
        assert refused["message"]
    live = await make_key(client, world, "Live")
    # An overlay carries no user's token: a client sending both is refused too.
    both = await refusal(url, {"overlay_key": live["key"], "token": world.owner.token})
    assert both["data"] == {"code": "invalid_overlay_key"}


async def test_revoking_a_key_drops_its_overlays_on_every_web_process_and_keeps_them_out(
    client: httpx.AsyncClient,
    world: World,
    connect: Connect,
    two_web_processes: tuple[str, str],
) -> None:
    first, second = two_web_processes
    key = await make_key(client, world, "Scene A")
    other = await make_key(client, world, "Scene B")
    here = await connect(overlay_key=key["key"], url=first)
    there = await connect(overlay_key=key["key"], url=second)
    bystander = await connect(overlay_key=other["key"], url=second)
    for overlay in (here, there, bystander):
        assert (await overlay.call("channel:join", {"channel": world.channel_id}))["ok"] is True

    # Revoked through a third web process (the test's own).
    await revoke(client, world, key)
    for overlay in (here, there):
        expired = await dropped(overlay, "overlay_key_revoked")
        assert expired["message"]
    refused = await refusal(first, {"overlay_key": key["key"]})
    assert refused["data"] == {"code": "invalid_overlay_key"}
    assert (await bystander.call("whoami"))["overlay"] == {"channel_id": world.channel_id}


async def test_an_overlay_connecting_while_its_key_is_revoked_is_dropped(
    client: httpx.AsyncClient, world: World, connect: Connect, resources: Resources
) -> None:
    """The key read as valid, the revocation's notice gone by before the socket was
    registered: the revocation's flag still catches it."""
    key = await make_key(client, world)
    await revocation.mark_overlay_key_revoked(resources.redis, key["id"], 60)
    overlay = await connect(overlay_key=key["key"])
    await dropped(overlay, "overlay_key_revoked")


async def test_a_keys_last_use_is_recorded_at_most_once_a_minute(
    client: httpx.AsyncClient, world: World, connect: Connect
) -> None:
    key = await make_key(client, world)

    async def last_used() -> Any:
        listed = await client.get(
            f"/api/v1/channels/{world.channel_id}/overlay-keys", headers=world.owner.auth
        )
        return listed.json()["overlay_keys"][0]["last_used_at"]

    assert await last_used() is None
    await connect(overlay_key=key["key"])
    first = await last_used()
    assert first is not None
    await connect(overlay_key=key["key"])
    assert await last_used() == first
