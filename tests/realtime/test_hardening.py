"""What the socket layer does with hostile or sloppy clients: rate limits, oversized frames,
foreign origins, expiring tokens, and retried bets."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
import socketio
from sqlalchemy import text

from app.asgi import create_app
from app.kit.resources import Resources
from app.kit.uow import unit_of_work
from app.settings import Settings
from tests.conftest import serve
from tests.realtime.conftest import Connect, SocketClient
from tests.worlds import World, open_pool

Serve = Callable[..., Awaitable[str]]


@pytest.fixture
async def tuned_server(settings: Settings) -> AsyncIterator[Serve]:
    """Serve the web process with some settings changed; yields a starter returning its URL."""
    stack: list[Any] = []

    async def start(**overrides: Any) -> str:
        context = serve(create_app(settings.model_copy(update=overrides)))
        stack.append(context)
        return await context.__aenter__()

    yield start
    for context in reversed(stack):
        await context.__aexit__(None, None, None)


@pytest.fixture
async def sockets() -> AsyncIterator[Callable[[], SocketClient]]:
    made: list[SocketClient] = []

    def make() -> SocketClient:
        made.append(SocketClient())
        return made[-1]

    yield make
    for client in made:
        await client.close()


async def wait_disconnected(client: SocketClient, within: float = 10) -> None:
    await asyncio.wait_for(client.gone.wait(), within)
    assert not client.sio.connected


async def test_every_event_is_rate_limited_and_a_client_that_keeps_on_is_dropped(
    world: World, tuned_server: Serve, sockets: Callable[[], SocketClient]
) -> None:
    url = await tuned_server(
        socket_events_per_second=1, socket_event_burst=5, socket_abuse_threshold=10
    )
    noisy = await sockets().connect(url, world.viewers[0].token)
    calm = await sockets().connect(url, world.viewers[1].token)
    answers = [await noisy.call("whoami") for _ in range(5)]
    assert all(answer["ok"] for answer in answers)
    refused = await noisy.call("whoami")
    assert refused["error"]["code"] == "rate_limited"
    assert (await noisy.call("no:such:event"))["error"]["code"] == "rate_limited"
    for _ in range(10):
        await noisy.sio.emit("whoami")
    await wait_disconnected(noisy)
    assert (await calm.call("whoami"))["ok"] is True  # limits are per connection


async def test_an_oversized_message_closes_the_connection(
    world: World, live_server: Any, sockets: Callable[[], SocketClient], settings: Settings
) -> None:
    client = await sockets().connect(live_server.url, world.viewers[0].token)
    huge = {"channel": world.channel_id, "text": "x" * (settings.socket_max_message_bytes + 1)}
    await client.sio.emit("chat:send", huge)
    await wait_disconnected(client)
    again = await sockets().connect(live_server.url, world.viewers[0].token)
    assert (await again.call("whoami"))["ok"] is True


async def test_foreign_origins_are_refused(
    live_server: Any, sockets: Callable[[], SocketClient], settings: Settings
) -> None:
    with pytest.raises(socketio.exceptions.ConnectionError):
        await sockets().connect(live_server.url, headers={"Origin": "https://evil.example"})
    allowed = await sockets().connect(live_server.url, headers={"Origin": settings.cors_origins[0]})
    assert (await allowed.call("whoami"))["ok"] is True


async def _sign_in(url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url) as http:
        body = {"email": "short@example.com", "password": "correct horse battery"}
        response = await http.post("/api/v1/auth/register", json={**body, "display_name": "S"})
        assert response.status_code == 201, response.text
        session: dict[str, Any] = response.json()
        return session


async def _refreshed(url: str, refresh_token: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url) as http:
        response = await http.post("/api/v1/auth/refresh", json={"refresh_token": refresh_token})
        assert response.status_code == 200, response.text
        session: dict[str, Any] = response.json()
        return session


async def test_a_client_is_asked_to_refresh_and_dropped_if_it_does_not(
    tuned_server: Serve, sockets: Callable[[], SocketClient]
) -> None:
    url = await tuned_server(
        access_token_ttl_seconds=3, socket_refresh_lead_seconds=2, socket_refresh_grace_seconds=1
    )
    session = await _sign_in(url)
    client = await sockets().connect(url, session["access_token"])
    asked = await client.wait_for("auth:refresh", within=3)
    assert asked["expires_at"] > 0
    await wait_disconnected(client, within=6)
    assert (await client.wait_for("auth:expired"))["code"] == "token_expired"

    # The token has expired by now: it no longer opens a connection.
    refusals: list[Any] = []
    late = sockets()
    late.sio.on("connect_error", refusals.append)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await late.connect(url, session["access_token"])
    assert refusals[0]["data"] == {"code": "invalid_token"}


async def test_a_refreshed_token_keeps_the_connection_open(
    tuned_server: Serve, sockets: Callable[[], SocketClient], world: World
) -> None:
    url = await tuned_server(
        access_token_ttl_seconds=3, socket_refresh_lead_seconds=2, socket_refresh_grace_seconds=1
    )
    session = await _sign_in(url)
    client = await sockets().connect(url, session["access_token"])
    await client.wait_for("auth:refresh", within=3)

    garbage = await client.call("auth:refresh", {"token": "not-a-token"})
    assert garbage["error"]["code"] == "invalid_token"
    someone_else = await client.call("auth:refresh", {"token": world.viewers[0].token})
    assert someone_else["error"]["code"] == "forbidden"

    fresh = await _refreshed(url, session["refresh_token"])
    answer = await client.call("auth:refresh", {"token": fresh["access_token"]})
    assert answer["ok"] is True
    assert answer["expires_at"] >= client.received("auth:refresh")[0]["expires_at"]
    await asyncio.sleep(2.5)  # past the first token's expiry and grace
    assert client.sio.connected
    assert (await client.call("whoami"))["user_id"] == session["user"]["id"]


async def test_a_thousand_retries_of_one_bet_place_it_once(
    client: httpx.AsyncClient,
    world: World,
    tuned_server: Serve,
    sockets: Callable[[], SocketClient],
    resources: Resources,
) -> None:
    url = await tuned_server(socket_events_per_second=5000, socket_event_burst=2000)
    pool = await open_pool(client, world)
    bettor = await sockets().connect(url, world.viewers[0].token)
    event = {
        "pool_id": pool["id"],
        "outcome_id": pool["outcomes"][0]["id"],
        "amount": 250,
        "idempotency_key": "tap-tap-tap",
    }
    acks = await asyncio.gather(*(bettor.call("bet:place", event, within=60) for _ in range(1000)))
    assert all(ack["ok"] for ack in acks), [a for a in acks if not a["ok"]][:3]
    assert {ack["bet"]["bet_id"] for ack in acks} == {acks[0]["bet"]["bet_id"]}
    assert {ack["bet"]["balance"] for ack in acks} == {9_750}
    async with unit_of_work(resources) as session:
        moved = await session.scalar(
            text("SELECT count(*) FROM ledger_transactions WHERE kind = 'bet'")
        )
    assert moved == 1


async def test_one_clients_bets_are_handled_in_the_order_sent(
    client: httpx.AsyncClient,
    world: World,
    tuned_server: Serve,
    sockets: Callable[[], SocketClient],
) -> None:
    url = await tuned_server(socket_events_per_second=1000, socket_event_burst=100)
    pool = await open_pool(client, world, min_stake=1)
    bettor = await sockets().connect(url, world.viewers[0].token)
    amounts = [1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233]
    events = [
        {
            "pool_id": pool["id"],
            "outcome_id": pool["outcomes"][0]["id"],
            "amount": amount,
            "idempotency_key": f"seq-{n}",
        }
        for n, amount in enumerate(amounts)
    ]
    acks = await asyncio.gather(*(bettor.call("bet:place", e) for e in events))
    positions = [ack["bet"]["position"] for ack in acks]
    assert positions == [sum(amounts[: n + 1]) for n in range(len(amounts))]


async def call_raw(socket: SocketClient, packet_json: str) -> Any:
    """Send an event whose JSON the client library could not even encode (it recurses too), and
    wait for its ack."""
    answered: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    ack_id = socket.sio._generate_ack_id("/", lambda *args: answered.set_result(args[0]))
    await socket.sio.eio.send(f"2{ack_id}{packet_json}")
    return await asyncio.wait_for(answered, 10)


# 5,000 levels fit in one message; a deeper one is over the size limit and closes the connection.
@pytest.mark.parametrize("depth", [100, 5_000])
async def test_a_payload_nested_thousands_deep_gets_an_error_ack(
    world: World, connect: Connect, depth: int
) -> None:
    socket = await connect(world.viewers[0])
    deep = "[" * depth + "]" * depth
    ack = await call_raw(
        socket, f'["chat:send", {{"channel": {world.channel_id}, "text": {deep}}}]'
    )
    assert ack["ok"] is False
    assert ack["error"]["code"] == "validation_error"
    assert (await socket.call("whoami"))["user_id"] == world.viewers[0].id
