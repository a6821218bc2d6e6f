"""Overlay keys over the API: the channel's owner and moderators make, list and revoke them;
the key is shown once and only its hash is kept; a channel has at most 20 in use."""

import asyncio
import hashlib
from typing import Any

import httpx
from sqlalchemy import text

from app.channel.repository import channel_repository
from app.kit.resources import Resources
from app.kit.uow import read_session
from app.overlay.service import MAX_ACTIVE_KEYS
from tests.worlds import Person, World

Client = httpx.AsyncClient


def keys_of(channel_id: int) -> str:
    return f"/api/v1/channels/{channel_id}/overlay-keys"


async def make_key(
    client: Client, world: World, person: Person | None = None, label: str = "Main scene"
) -> dict[str, Any]:
    response = await client.post(
        keys_of(world.channel_id), json={"label": label}, headers=(person or world.owner).auth
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_new_key_is_shown_once_with_its_overlay_url_and_only_its_hash_is_kept(
    client: Client, world: World, resources: Resources
) -> None:
    created = await make_key(client, world, label="  Main scene  ")
    key = created["key"]
    assert key.startswith("ovk_") and len(key) == 4 + 43  # 32 random bytes, url-safe base64
    assert created["label"] == "Main scene"
    assert created["key_prefix"] == key[4:12]
    assert created["channel_id"] == world.channel_id
    slug = (await client.get(f"/api/v1/channels/{world.channel_id}")).json()["slug"]
    settings = resources.settings
    assert created["url"] == f"{settings.public_url}/overlay/{slug}?key={key}"

    listed = await client.get(keys_of(world.channel_id), headers=world.owner.auth)
    assert listed.status_code == 200
    [shown] = listed.json()["overlay_keys"]
    assert "key" not in shown and "url" not in shown and key not in listed.text
    assert shown == {
        "id": created["id"],
        "channel_id": world.channel_id,
        "label": "Main scene",
        "key_prefix": created["key_prefix"],
        "created_at": created["created_at"],
        "created_by": world.owner.id,
        "revoked_at": None,
        "last_used_at": None,
    }
    async with read_session(resources) as session:
        stored = (
            await session.execute(text("SELECT key_hash, key_prefix FROM overlay_keys"))
        ).one()
        row = (await session.execute(text("SELECT * FROM overlay_keys"))).mappings().one()
    assert bytes(stored.key_hash) == hashlib.sha256(key.encode()).digest()
    assert not any(key in str(value) for value in row.values())


async def test_the_owner_and_moderators_manage_keys_and_no_one_else(
    client: Client, world: World
) -> None:
    mine = await make_key(client, world, world.moderator, label="Mod's overlay")
    owners = await make_key(client, world, world.owner, label="Owner's overlay")
    listed = await client.get(keys_of(world.channel_id), headers=world.moderator.auth)
    assert [k["id"] for k in listed.json()["overlay_keys"]] == [owners["id"], mine["id"]]
    assert listed.json()["overlay_keys"][1]["created_by"] == world.moderator.id

    base = keys_of(world.channel_id)
    for person in (world.viewers[0], world.stranger):
        for method, url, body in [
            ("GET", base, None),
            ("POST", base, {"label": "mine now"}),
            ("DELETE", f"{base}/{owners['id']}", None),
        ]:
            refused = await client.request(method, url, json=body, headers=person.auth)
            assert refused.status_code == 403, (method, url, refused.text)
            assert refused.json()["error"]["code"] == "forbidden"
    for method, url in [("GET", base), ("POST", base), ("DELETE", f"{base}/{owners['id']}")]:
        anonymous = await client.request(method, url, json={"label": "x"})
        assert anonymous.status_code == 401
    missing = await client.get(keys_of(999_999), headers=world.owner.auth)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "channel_not_found"

    # The moderator revokes the owner's key: it is the channel's, not the owner's.
    revoked = await client.delete(f"{base}/{owners['id']}", headers=world.moderator.auth)
    assert revoked.status_code == 204
    listed = await client.get(base, headers=world.owner.auth)
    states = {k["id"]: k["revoked_at"] for k in listed.json()["overlay_keys"]}
    assert states[owners["id"]] is not None and states[mine["id"]] is None


async def test_revoking_is_idempotent_and_audited_and_another_channels_key_is_not_found(
    client: Client, world: World, resources: Resources
) -> None:
    created = await make_key(client, world)
    url = f"{keys_of(world.channel_id)}/{created['id']}"
    for _ in range(2):
        response = await client.delete(url, headers=world.owner.auth)
        assert response.status_code == 204, response.text
    [shown] = (await client.get(keys_of(world.channel_id), headers=world.owner.auth)).json()[
        "overlay_keys"
    ]
    assert shown["revoked_at"] is not None

    stranger_channel = await client.post(
        "/api/v1/channels", json={"slug": "strangers-own", "name": "S"}, headers=world.stranger.auth
    )
    theirs = stranger_channel.json()["id"]
    # The stranger names our key under their own channel: no such key there.
    elsewhere = await client.delete(
        f"{keys_of(theirs)}/{created['id']}", headers=world.stranger.auth
    )
    assert elsewhere.status_code == 404
    assert elsewhere.json()["error"]["code"] == "overlay_key_not_found"
    unknown = await client.delete(f"{keys_of(world.channel_id)}/999999", headers=world.owner.auth)
    assert unknown.json()["error"]["code"] == "overlay_key_not_found"

    async with read_session(resources) as session:
        trail = await channel_repository.audit_trail(session, world.channel_id)
        actions = [(a.action, a.actor_id, a.details) for a in trail if "overlay" in a.action]
    details = {
        "overlay_key_id": created["id"],
        "label": created["label"],
        "key_prefix": created["key_prefix"],
    }
    assert actions == [
        ("overlay_key_created", world.owner.id, details),
        ("overlay_key_revoked", world.owner.id, details),
    ]


async def test_a_channel_has_at_most_twenty_keys_in_use_even_when_asked_at_once(
    client: Client, world: World
) -> None:
    base = keys_of(world.channel_id)
    answers = await asyncio.gather(
        *(
            client.post(base, json={"label": f"scene {n}"}, headers=world.owner.auth)
            for n in range(MAX_ACTIVE_KEYS + 3)
        )
    )
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] * MAX_ACTIVE_KEYS + [409] * 3
    refused = next(a for a in answers if a.status_code == 409).json()["error"]
    assert refused["code"] == "overlay_key_limit_reached"
    assert refused["details"] == {"limit": MAX_ACTIVE_KEYS}

    # A revoked key makes room for one more.
    first = next(a for a in answers if a.status_code == 201).json()
    assert (await client.delete(f"{base}/{first['id']}", headers=world.owner.auth)).status_code
    assert (await make_key(client, world, label="replacement"))["label"] == "replacement"
    again = await client.post(base, json={"label": "one too many"}, headers=world.owner.auth)
    assert again.status_code == 409


async def test_labels_are_validated_naming_the_field(client: Client, world: World) -> None:
    for body in [{"label": ""}, {"label": "   "}, {"label": "x" * 61}, {"label": 7}]:
        refused = await client.post(keys_of(world.channel_id), json=body, headers=world.owner.auth)
        assert refused.status_code == 422, (body, refused.text)
        error = refused.json()["error"]
        assert error["code"] == "validation_error"
        assert error["details"]["fields"][0]["field"] == "label", error
    for body in [{}, {"label": "ok", "key": "ovk_mine"}]:
        refused = await client.post(keys_of(world.channel_id), json=body, headers=world.owner.auth)
        assert refused.status_code == 422, (body, refused.text)
    assert (await make_key(client, world, label="x" * 60))["label"] == "x" * 60
