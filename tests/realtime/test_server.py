"""Socket.IO connections to a real server on loopback: with a valid, an invalid, and no token."""

from collections.abc import AsyncIterator

import httpx
import pytest
import socketio

from app.auth.errors import InvalidAccessToken
from tests.conftest import LiveServer
from tests.factories import DEFAULT_PASSWORD, unique_email


async def _sign_up(server: LiveServer) -> dict[str, object]:
    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await http.post(
            "/api/v1/auth/register",
            json={"email": unique_email(), "password": DEFAULT_PASSWORD, "display_name": "Sock"},
        )
    assert response.status_code == 201
    body: dict[str, object] = response.json()
    return body


@pytest.fixture
async def sio() -> AsyncIterator[socketio.AsyncClient]:
    client = socketio.AsyncClient(reconnection=False)
    yield client
    if client.connected:
        await client.disconnect()


async def test_connect_with_a_valid_token_knows_the_user(
    live_server: LiveServer, sio: socketio.AsyncClient
) -> None:
    session = await _sign_up(live_server)
    await sio.connect(
        live_server.url, auth={"token": session["access_token"]}, transports=["websocket"]
    )
    answer = await sio.call("whoami", timeout=15)
    assert answer == {"ok": True, "user_id": session["user"]["id"]}  # type: ignore[index]


async def test_connect_without_a_token_is_anonymous(
    live_server: LiveServer, sio: socketio.AsyncClient
) -> None:
    await sio.connect(live_server.url, transports=["websocket"])
    assert await sio.call("whoami", timeout=15) == {"ok": True, "user_id": None}


@pytest.mark.parametrize("token", ["garbage", "a.b.c", 12345])
async def test_connect_with_an_invalid_token_is_refused(
    live_server: LiveServer, sio: socketio.AsyncClient, token: object
) -> None:
    refusals: list[object] = []
    sio.on("connect_error", refusals.append)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await sio.connect(live_server.url, auth={"token": token}, transports=["websocket"])
    assert not sio.connected
    assert refusals == [{"message": InvalidAccessToken.message, "data": {"code": "invalid_token"}}]
