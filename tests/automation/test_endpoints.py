"""Automation rules over the API: the channel's owner and moderators manage them; the rules
are validated with stable error codes."""

import httpx

from app.channel.repository import channel_repository
from app.kit.resources import Resources
from app.kit.uow import read_session
from tests.factories import bearer, register

Client = httpx.AsyncClient


async def _signed_in(client: Client) -> tuple[int, dict[str, str]]:
    body = await register(client)
    user = body["user"]
    assert isinstance(user, dict)
    return int(user["id"]), bearer(body["access_token"])


async def _channel_with_template(
    client: Client, owner: dict[str, str], slug: str
) -> tuple[int, int]:
    created = await client.post(
        "/api/v1/channels", json={"slug": slug, "name": slug}, headers=owner
    )
    assert created.status_code == 201, created.text
    channel_id = int(created.json()["id"])
    template = await client.post(
        f"/api/v1/channels/{channel_id}/templates",
        json={
            "name": "first-try",
            "title": "First try?",
            "outcomes": ["Yes", "No"],
            "window_seconds": 600,
            "min_stake": 1,
            "max_stake": 1000,
        },
        headers=owner,
    )
    assert template.status_code == 201, template.text
    return channel_id, int(template.json()["id"])


async def test_staff_manage_rules_and_others_may_not(client: Client) -> None:
    _, owner = await _signed_in(client)
    moderator_id, moderator = await _signed_in(client)
    _, viewer = await _signed_in(client)
    channel_id, template_id = await _channel_with_template(client, owner, "auto-chan")
    added = await client.post(
        f"/api/v1/channels/{channel_id}/moderators", json={"user_id": moderator_id}, headers=owner
    )
    assert added.status_code == 201
    base = f"/api/v1/channels/{channel_id}/automations"

    created = await client.post(
        base,
        json={"kind": "stream_online", "template_id": template_id, "delay_seconds": 60},
        headers=moderator,
    )
    assert created.status_code == 201, created.text
    rule = created.json()
    assert rule["kind"] == "stream_online" and rule["delay_seconds"] == 60 and rule["enabled"]
    offline = await client.post(base, json={"kind": "stream_offline"}, headers=owner)
    assert offline.json()["offline_action"] == "lock"

    for method, url, body in [
        ("GET", base, None),
        ("POST", base, {"kind": "mirror_predictions"}),
        ("PATCH", f"{base}/{rule['id']}", {"enabled": False}),
        ("DELETE", f"{base}/{rule['id']}", None),
    ]:
        refused = await client.request(method, url, json=body, headers=viewer)
        assert refused.status_code == 403, (method, url)
        assert refused.json()["error"]["code"] == "forbidden"
    assert (await client.get(base)).status_code == 401

    patched = await client.patch(
        f"{base}/{rule['id']}", json={"enabled": False, "delay_seconds": 0}, headers=owner
    )
    assert patched.status_code == 200
    assert (patched.json()["enabled"], patched.json()["delay_seconds"]) == (False, 0)
    listed = (await client.get(base, headers=moderator)).json()["automations"]
    assert [r["kind"] for r in listed] == ["stream_online", "stream_offline"]
    assert (await client.delete(f"{base}/{rule['id']}", headers=moderator)).status_code == 204
    gone = await client.patch(f"{base}/{rule['id']}", json={"enabled": True}, headers=owner)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "automation_not_found"


async def test_rules_are_validated(client: Client) -> None:
    _, owner = await _signed_in(client)
    channel_id, template_id = await _channel_with_template(client, owner, "auto-one")
    _, elsewhere = await _channel_with_template(client, owner, "auto-two")
    base = f"/api/v1/channels/{channel_id}/automations"

    for body, field in [
        ({"kind": "stream_online"}, "template_id"),
        ({"kind": "stream_online", "template_id": elsewhere}, "template_id"),
        ({"kind": "stream_offline", "template_id": template_id}, "template_id"),
        ({"kind": "mirror_predictions", "delay_seconds": 5}, "delay_seconds"),
        ({"kind": "mirror_predictions", "offline_action": "cancel"}, "offline_action"),
    ]:
        refused = await client.post(base, json=body, headers=owner)
        assert refused.status_code == 422, body
        assert refused.json()["error"]["code"] == "validation_error"
        assert refused.json()["error"]["details"]["field"] == field, body
    for body in [
        {"kind": "stream_online", "template_id": template_id, "delay_seconds": 3601},
        {"kind": "stream_online", "template_id": template_id, "delay_seconds": -1},
        {"kind": "stream_offline", "offline_action": "delete"},
        {"kind": "on_chat"},
        {"kind": "stream_offline", "extra": 1},
    ]:
        malformed = await client.post(base, json=body, headers=owner)
        assert malformed.status_code == 422, body

    assert (
        await client.post(base, json={"kind": "mirror_predictions"}, headers=owner)
    ).status_code == 201
    twice = await client.post(base, json={"kind": "mirror_predictions"}, headers=owner)
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "automation_exists"
    missing = await client.get("/api/v1/channels/999999/automations", headers=owner)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "channel_not_found"


async def test_every_rule_change_is_in_the_channels_audit_trail(
    client: Client, resources: Resources
) -> None:
    """Moderators can change what a stream does on its own: who changed which rule, into what,
    is kept for the owner (append-only)."""
    _, owner = await _signed_in(client)
    moderator_id, moderator = await _signed_in(client)
    channel_id, template_id = await _channel_with_template(client, owner, "audited")
    added = await client.post(
        f"/api/v1/channels/{channel_id}/moderators", json={"user_id": moderator_id}, headers=owner
    )
    assert added.status_code == 201
    base = f"/api/v1/channels/{channel_id}/automations"
    rule = (
        await client.post(
            base, json={"kind": "stream_online", "template_id": template_id}, headers=moderator
        )
    ).json()
    changed = await client.patch(
        f"{base}/{rule['id']}", json={"delay_seconds": 120}, headers=moderator
    )
    assert changed.status_code == 200, changed.text
    assert (await client.delete(f"{base}/{rule['id']}", headers=moderator)).status_code == 204

    async with read_session(resources) as session:
        trail = await channel_repository.audit_trail(session, channel_id)
        changes = [
            (entry.action, entry.actor_id, entry.details["delay_seconds"])
            for entry in trail
            if entry.action.startswith("automation_")
        ]
    assert changes == [
        ("automation_created", moderator_id, 0),
        ("automation_updated", moderator_id, 120),
        ("automation_deleted", moderator_id, 120),
    ]
