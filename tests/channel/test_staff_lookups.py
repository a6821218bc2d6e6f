"""What the dashboard asks of channels: the channels one runs (``GET /api/v1/me/channels``) and
finding a member by name (``GET /api/v1/channels/{id}/members?q=``), each for whom it is meant."""

import itertools
from typing import Any

import httpx

from tests.factories import bearer, register

Client = httpx.AsyncClient
Auth = dict[str, str]

_slugs = itertools.count(1)


async def _person(client: Client, name: str) -> tuple[int, Auth]:
    body = await register(client, display_name=name)
    return int(body["user"]["id"]), bearer(body["access_token"])  # type: ignore[index]


async def _channel(client: Client, auth: Auth, name: str) -> int:
    response = await client.post(
        "/api/v1/channels", json={"slug": f"staff-{next(_slugs)}", "name": name}, headers=auth
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def _mine(client: Client, auth: Auth) -> list[tuple[str, str]]:
    response = await client.get("/api/v1/me/channels", headers=auth)
    assert response.status_code == 200, response.text
    channels: list[dict[str, Any]] = response.json()["channels"]
    return [(c["name"], c["role"]) for c in channels]


async def test_my_channels_are_those_i_own_then_those_i_moderate(client: Client) -> None:
    owner_id, owner = await _person(client, "Owner")
    mod_id, mod = await _person(client, "Mod")
    _, stranger = await _person(client, "Stranger")
    zebra = await _channel(client, owner, "Zebra runs")
    await _channel(client, owner, "apple races")
    other = await _channel(client, mod, "Mod's own")
    added = await client.post(
        f"/api/v1/channels/{zebra}/moderators", json={"user_id": mod_id}, headers=owner
    )
    assert added.status_code == 201, added.text

    assert await _mine(client, owner) == [("apple races", "owner"), ("Zebra runs", "owner")]
    assert await _mine(client, mod) == [("Mod's own", "owner"), ("Zebra runs", "moderator")]
    assert await _mine(client, stranger) == []

    listed = (await client.get("/api/v1/me/channels", headers=mod)).json()["channels"]
    assert {c["id"] for c in listed} == {zebra, other}
    assert all(c["owner_id"] in (owner_id, mod_id) and c["links"] == [] for c in listed)

    # Removed, they no longer run it.
    removed = await client.delete(f"/api/v1/channels/{zebra}/moderators/{mod_id}", headers=owner)
    assert removed.status_code == 204
    assert await _mine(client, mod) == [("Mod's own", "owner")]


async def test_my_channels_need_a_sign_in(client: Client) -> None:
    response = await client.get("/api/v1/me/channels")
    assert response.status_code == 401


async def test_staff_find_members_by_part_of_their_name(client: Client) -> None:
    _, owner = await _person(client, "Owner")
    channel = await _channel(client, owner, "Lookups")
    ids = {}
    for name in ["Ada Lovelace", "Grace Hopper", "Adalbert", "Not A Member"]:
        user_id, auth = await _person(client, name)
        ids[name] = user_id
        if name != "Not A Member":
            joined = await client.post(f"/api/v1/channels/{channel}/join", headers=auth)
            assert joined.status_code == 200, joined.text

    found = await client.get(f"/api/v1/channels/{channel}/members?q=ADA", headers=owner)
    assert found.status_code == 200, found.text
    members = found.json()["members"]
    # Names starting with it first; no email, ever.
    assert [m["display_name"] for m in members] == ["Ada Lovelace", "Adalbert"]
    assert members[0]["user_id"] == ids["Ada Lovelace"]
    assert set(members[0]) == {"user_id", "display_name", "joined_at"}

    inside = await client.get(f"/api/v1/channels/{channel}/members?q=hop", headers=owner)
    assert [m["display_name"] for m in inside.json()["members"]] == ["Grace Hopper"]
    # Someone who never joined is not found, whatever their name.
    nobody = await client.get(f"/api/v1/channels/{channel}/members?q=member", headers=owner)
    assert nobody.json()["members"] == []
    # Wildcards are plain characters.
    like = await client.get(f"/api/v1/channels/{channel}/members?q=%25", headers=owner)
    assert like.json()["members"] == []
    limited = await client.get(f"/api/v1/channels/{channel}/members?q=a&limit=1", headers=owner)
    assert len(limited.json()["members"]) == 1


async def test_only_staff_look_members_up(client: Client) -> None:
    _, owner = await _person(client, "Owner")
    mod_id, mod = await _person(client, "Mod")
    _, viewer = await _person(client, "Viewer")
    channel = await _channel(client, owner, "Lookups")
    await client.post(f"/api/v1/channels/{channel}/join", headers=viewer)
    await client.post(
        f"/api/v1/channels/{channel}/moderators", json={"user_id": mod_id}, headers=owner
    )
    path = f"/api/v1/channels/{channel}/members?q=view"
    assert (await client.get(path, headers=mod)).json()["members"][0]["display_name"] == "Viewer"
    refused = await client.get(path, headers=viewer)
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "forbidden")
    assert (await client.get(path)).status_code == 401
    missing = await client.get("/api/v1/channels/999999999/members?q=a", headers=owner)
    assert missing.status_code == 404
    assert (
        await client.get(f"/api/v1/channels/{channel}/members", headers=owner)
    ).status_code == 422
    blank = await client.get(f"/api/v1/channels/{channel}/members?q=%20", headers=owner)
    assert blank.status_code == 422
