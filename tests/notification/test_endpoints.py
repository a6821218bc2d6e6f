"""The inbox, preferences and devices over REST: pages newest first with the unread count,
marking read, preferences validated, tokens that move between accounts."""

import httpx

from app.kit.resources import Resources
from app.kit.uow import unit_of_work
from app.models.notification import NotificationKind
from app.notification.service import notification_service
from tests.worlds import World


async def _notify(resources: Resources, user_id: int, count: int) -> None:
    async with unit_of_work(resources) as session:
        for n in range(count):
            await notification_service.notify(
                session,
                [user_id],
                kind=NotificationKind.deposit_credited,
                event_key=f"deposit.credited:{user_id}:{n}",
                title=f"Deposit {n}",
                body="It is in your wallet.",
                data={"n": n},
            )


async def test_the_inbox_pages_newest_first_and_marks_read(
    client: httpx.AsyncClient, world: World, resources: Resources
) -> None:
    me, other = world.viewers[:2]
    await _notify(resources, me.id, 5)
    await _notify(resources, other.id, 1)

    first = (await client.get("/api/v1/me/notifications?limit=3", headers=me.auth)).json()
    assert [n["title"] for n in first["notifications"]] == ["Deposit 4", "Deposit 3", "Deposit 2"]
    assert first["unread"] == 5 and first["next_cursor"]
    rest = await client.get(
        f"/api/v1/me/notifications?limit=3&cursor={first['next_cursor']}", headers=me.auth
    )
    assert [n["title"] for n in rest.json()["notifications"]] == ["Deposit 1", "Deposit 0"]
    assert rest.json()["next_cursor"] is None

    newest = first["notifications"][0]
    read = await client.post(f"/api/v1/me/notifications/{newest['id']}/read", headers=me.auth)
    assert read.status_code == 200 and read.json()["read_at"] is not None
    again = await client.post(f"/api/v1/me/notifications/{newest['id']}/read", headers=me.auth)
    assert again.json()["read_at"] == read.json()["read_at"]
    inbox = (await client.get("/api/v1/me/notifications", headers=me.auth)).json()
    assert inbox["unread"] == 4

    # Someone else's notification does not exist for you.
    theirs = (await client.get("/api/v1/me/notifications", headers=other.auth)).json()
    stolen = await client.post(
        f"/api/v1/me/notifications/{theirs['notifications'][0]['id']}/read", headers=me.auth
    )
    assert stolen.status_code == 404
    assert stolen.json()["error"]["code"] == "notification_not_found"

    everything = await client.post("/api/v1/me/notifications/read-all", headers=me.auth)
    assert everything.json() == {"marked": 4, "unread": 0}
    assert (await client.get("/api/v1/me/notifications", headers=me.auth)).json()["unread"] == 0
    assert (await client.get("/api/v1/me/notifications", headers=other.auth)).json()["unread"] == 1
    bad = await client.get("/api/v1/me/notifications?cursor=abc", headers=me.auth)
    assert bad.status_code == 422


async def test_preferences_default_to_every_push_and_are_checked(
    client: httpx.AsyncClient, world: World
) -> None:
    me = world.viewers[0].auth
    prefs = (await client.get("/api/v1/me/notification-preferences", headers=me)).json()
    assert prefs["quiet_hours"] is None and prefs["time_zone"] == "UTC"
    assert prefs["push"]["pool.won"] is True and len(prefs["push"]) == len(NotificationKind)

    changed = await client.put(
        "/api/v1/me/notification-preferences",
        json={
            "push": {"pool.lost": False, "pool.opened": False},
            "quiet_hours": {"start": "22:30", "end": "07:00"},
            "time_zone": "Europe/Paris",
        },
        headers=me,
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["push"]["pool.lost"], body["push"]["pool.opened"]) == (False, False)
    assert body["quiet_hours"] == {"start": "22:30", "end": "07:00"}
    # Fields left out stay; a kind turned back on is on.
    again = await client.put(
        "/api/v1/me/notification-preferences", json={"push": {"pool.lost": True}}, headers=me
    )
    assert again.json()["push"]["pool.lost"] is True
    assert again.json()["push"]["pool.opened"] is False
    assert again.json()["time_zone"] == "Europe/Paris"

    for wrong in (
        {"time_zone": "Mars/Olympus_Mons"},
        {"quiet_hours": {"start": "25:00", "end": "07:00"}},
        {"push": {"pool.nonsense": False}},
        {"volume": 11},
    ):
        refused = await client.put("/api/v1/me/notification-preferences", json=wrong, headers=me)
        assert refused.status_code == 422, wrong
    assert (await client.get("/api/v1/me/notification-preferences")).status_code == 401


async def test_devices_register_once_and_a_token_moves_to_whoever_registers_it(
    client: httpx.AsyncClient, world: World
) -> None:
    me, other = world.viewers[0].auth, world.viewers[1].auth
    token = "fcm-token-" + "a" * 140
    made = await client.post(
        "/api/v1/me/devices", json={"token": token, "platform": "android"}, headers=me
    )
    assert made.status_code == 201, made.text
    device = made.json()
    assert device["token_suffix"] == "aaaaaa" and "token" not in device
    again = await client.post(
        "/api/v1/me/devices", json={"token": token, "platform": "android"}, headers=me
    )
    assert again.json()["id"] == device["id"]
    assert again.json()["last_seen_at"] >= device["last_seen_at"]
    assert len((await client.get("/api/v1/me/devices", headers=me)).json()["devices"]) == 1

    moved = await client.post(
        "/api/v1/me/devices", json={"token": token, "platform": "web"}, headers=other
    )
    assert moved.json()["id"] == device["id"]
    assert (await client.get("/api/v1/me/devices", headers=me)).json()["devices"] == []
    mine = (await client.get("/api/v1/me/devices", headers=other)).json()["devices"]
    assert [d["platform"] for d in mine] == ["web"]

    assert (
        await client.delete(f"/api/v1/me/devices/{device['id']}", headers=me)
    ).status_code == 404
    gone = await client.delete(f"/api/v1/me/devices/{device['id']}", headers=other)
    assert gone.status_code == 204
    assert (await client.get("/api/v1/me/devices", headers=other)).json()["devices"] == []
    refused = await client.post(
        "/api/v1/me/devices", json={"token": token, "platform": "fridge"}, headers=me
    )
    assert refused.status_code == 422
