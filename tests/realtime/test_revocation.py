"""Ending a sign-in or changing a role reaches open sockets at once, on every web process: they
get ``auth:expired`` with the reason and are dropped, and they cannot act in the meantime."""

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import socketio

from app.auth import revocation
from app.auth.service import auth_service
from app.kit.resources import Resources
from app.kit.uow import unit_of_work
from app.models.user import Role
from tests.factories import DEFAULT_PASSWORD, bearer, fund_wallet, register
from tests.realtime.conftest import Connect, SocketClient
from tests.realtime.test_cluster import two_web_processes
from tests.worlds import World, open_pool

__all__ = ["two_web_processes"]

#: How soon a revocation must reach a connected socket.
PROMPTLY = 1.0


@dataclass
class SignIn:
    user_id: int
    email: str
    access_token: str
    refresh_token: str


async def sign_up(client: httpx.AsyncClient, resources: Resources, world: World) -> SignIn:
    """A new account with points in the world's channel."""
    body: dict[str, Any] = await register(client, display_name="Leaver")
    user = body["user"]
    async with unit_of_work(resources) as session:
        await fund_wallet(session, user["id"], 10_000, world.currency)
    return SignIn(user["id"], user["email"], body["access_token"], body["refresh_token"])


async def sign_in_again(client: httpx.AsyncClient, person: SignIn) -> SignIn:
    response = await client.post(
        "/api/v1/auth/login", json={"email": person.email, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    return SignIn(person.user_id, person.email, body["access_token"], body["refresh_token"])


async def dropped(socket: SocketClient, code: str) -> dict[str, Any]:
    """The ``auth:expired`` the socket got, once the server has closed it (both within
    ``PROMPTLY`` of now)."""
    deadline = time.monotonic() + PROMPTLY
    expired: dict[str, Any] = await socket.wait_for("auth:expired", within=PROMPTLY)
    assert expired["code"] == code
    await asyncio.wait_for(socket.gone.wait(), max(0.0, deadline - time.monotonic()))
    assert not socket.sio.connected
    return expired


async def refused_at_connect(url: str, token: str) -> None:
    late = SocketClient()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await late.connect(url, token)


def a_bet(pool: dict[str, Any], key: str) -> dict[str, Any]:
    outcome = pool["outcomes"][0]["id"]
    return {"pool_id": pool["id"], "outcome_id": outcome, "amount": 100, "idempotency_key": key}


async def test_logout_drops_the_sign_ins_sockets_and_only_them(
    client: httpx.AsyncClient,
    world: World,
    resources: Resources,
    connect: Connect,
    live_server: Any,
) -> None:
    person = await sign_up(client, resources, world)
    elsewhere = await sign_in_again(client, person)
    pool = await open_pool(client, world)
    phone = await connect(token=person.access_token)
    laptop = await connect(token=person.access_token)
    tablet = await connect(token=elsewhere.access_token)
    assert (await phone.call("bet:place", a_bet(pool, "before")))["ok"] is True

    response = await client.post(
        "/api/v1/auth/logout", json={"refresh_token": person.refresh_token}
    )
    assert response.status_code == 204

    for socket in (phone, laptop):
        expired = await dropped(socket, "session_revoked")
        assert expired["details"] == {"reason": "logout"}
    await refused_at_connect(live_server.url, person.access_token)
    # The other sign-in of the same account goes on.
    assert tablet.sio.connected
    assert (await tablet.call("bet:place", a_bet(pool, "after")))["ok"] is True


async def test_refresh_token_reuse_drops_the_sign_ins_sockets(
    client: httpx.AsyncClient, world: World, resources: Resources, connect: Connect
) -> None:
    person = await sign_up(client, resources, world)
    rotated = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": person.refresh_token}
    )
    assert rotated.status_code == 200
    socket = await connect(token=rotated.json()["access_token"])
    assert (await socket.call("whoami"))["user_id"] == person.user_id

    # The first refresh token again: someone holds a copy, so the whole sign-in ends.
    reused = await client.post("/api/v1/auth/refresh", json={"refresh_token": person.refresh_token})
    assert reused.json()["error"]["code"] == "refresh_token_reused"

    expired = await dropped(socket, "session_revoked")
    assert expired["details"] == {"reason": "refresh_token_reused"}


async def test_a_revoked_sign_in_cannot_bet_or_chat_even_if_its_socket_missed_the_notice(
    client: httpx.AsyncClient, world: World, resources: Resources, connect: Connect
) -> None:
    person = await sign_up(client, resources, world)
    pool = await open_pool(client, world)
    bettor = await connect(token=person.access_token)
    talker = await connect(token=person.access_token)
    principal, _ = await auth_service.authenticate(resources, person.access_token)
    assert principal.family_id is not None
    # Revoked in Redis without the notice to the web processes (as if it were lost).
    await revocation.mark_session_ended(resources.redis, principal.family_id, "logout", 60)

    bet = await bettor.call("bet:place", a_bet(pool, "late"))
    assert bet["ok"] is False
    assert bet["error"]["code"] == "session_revoked"
    said = await talker.call("chat:send", {"channel": world.channel_id, "text": "still here"})
    assert said["error"]["code"] == "session_revoked"
    for socket in (bettor, talker):
        await dropped(socket, "session_revoked")
    other = await sign_in_again(client, person)
    wallets = await client.get("/api/v1/me/wallets", headers=bearer(other.access_token))
    balances = {w["currency"]: w["balance"] for w in wallets.json()["wallets"]}
    assert balances[world.currency] == 10_000


async def test_a_missed_notice_refuses_bets_within_a_second_of_the_revocation(
    client: httpx.AsyncClient, world: World, resources: Resources, connect: Connect
) -> None:
    """An acting socket trusts its last check of the sign-in for a second at most."""
    person = await sign_up(client, resources, world)
    pool = await open_pool(client, world)
    bettor = await connect(token=person.access_token)
    assert (await bettor.call("bet:place", a_bet(pool, "first")))["ok"] is True
    principal, _ = await auth_service.authenticate(resources, person.access_token)
    assert principal.family_id is not None
    await revocation.mark_session_ended(resources.redis, principal.family_id, "logout", 60)
    revoked_at = time.monotonic()

    while True:
        bet = await bettor.call("bet:place", a_bet(pool, f"after-{time.monotonic()}"))
        if not bet["ok"]:
            break
        await asyncio.sleep(0.1)
    assert bet["error"]["code"] == "session_revoked"
    assert time.monotonic() - revoked_at < 1.5
    await dropped(bettor, "session_revoked")


async def test_logout_on_one_process_drops_the_sign_ins_sockets_on_every_other(
    client: httpx.AsyncClient,
    world: World,
    resources: Resources,
    connect: Connect,
    two_web_processes: tuple[str, str],
) -> None:
    first, second = two_web_processes
    person = await sign_up(client, resources, world)
    here = await connect(token=person.access_token, url=first)
    there = await connect(token=person.access_token, url=second)
    bystander = await connect(world.viewers[0], url=second)
    for socket in (here, there):
        assert (await socket.call("whoami"))["user_id"] == person.user_id

    # Signed out through a third web process (the test's own).
    response = await client.post(
        "/api/v1/auth/logout", json={"refresh_token": person.refresh_token}
    )
    assert response.status_code == 204
    for socket in (here, there):
        await dropped(socket, "session_revoked")
    assert (await bystander.call("whoami"))["user_id"] == world.viewers[0].id


async def test_a_demoted_admin_is_dropped_and_a_fresh_token_carries_the_new_role(
    client: httpx.AsyncClient,
    world: World,
    resources: Resources,
    connect: Connect,
    live_server: Any,
) -> None:
    person = await sign_up(client, resources, world)
    async with unit_of_work(resources) as session:
        await auth_service.change_role(session, resources, person.user_id, Role.admin)
    # The token of before the promotion no longer holds; a refreshed one carries the role.
    assert (await client.get("/api/v1/me", headers=bearer(person.access_token))).status_code == 401
    refreshed = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": person.refresh_token}
    )
    admin = SignIn(
        person.user_id,
        person.email,
        refreshed.json()["access_token"],
        refreshed.json()["refresh_token"],
    )
    viewer = await connect(world.viewers[0])
    assert (await viewer.call("channel:join", {"channel": world.channel_id}))["ok"] is True
    said = await viewer.call("chat:send", {"channel": world.channel_id, "text": "one"})
    again = await viewer.call("chat:send", {"channel": world.channel_id, "text": "two"})
    socket = await connect(token=admin.access_token)
    deleted = await socket.call("chat:delete", {"message_id": said["message"]["id"]})
    assert deleted["ok"] is True, deleted

    async with unit_of_work(resources) as session:
        await auth_service.change_role(session, resources, person.user_id, Role.user)

    await dropped(socket, "role_changed")
    await refused_at_connect(live_server.url, admin.access_token)
    fresh = await client.post("/api/v1/auth/refresh", json={"refresh_token": admin.refresh_token})
    assert fresh.json()["user"]["role"] == "user"
    demoted = await connect(token=fresh.json()["access_token"])
    refused = await demoted.call("chat:delete", {"message_id": again["message"]["id"]})
    assert refused["error"]["code"] == "forbidden"


async def test_a_removed_moderator_can_no_longer_moderate_from_an_open_socket(
    client: httpx.AsyncClient, world: World, connect: Connect
) -> None:
    viewer = await connect(world.viewers[0])
    moderator = await connect(world.moderator)
    assert (await viewer.call("channel:join", {"channel": world.channel_id}))["ok"] is True
    said = await viewer.call("chat:send", {"channel": world.channel_id, "text": "spam"})
    timeout = {"channel": world.channel_id, "user_id": world.viewers[0].id, "seconds": 60}
    assert (await moderator.call("chat:timeout", timeout))["ok"] is True

    response = await client.delete(
        f"/api/v1/channels/{world.channel_id}/moderators/{world.moderator.id}",
        headers=world.owner.auth,
    )
    assert response.status_code == 204

    # The same socket, right away: its role is looked up on each event, not kept from connect.
    deleted = await moderator.call("chat:delete", {"message_id": said["message"]["id"]})
    assert deleted["error"]["code"] == "forbidden"
    lifted = await moderator.call("chat:timeout", {**timeout, "seconds": 0})
    assert lifted["error"]["code"] == "forbidden"
