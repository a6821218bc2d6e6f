"""A draft is its channel's staff's business: outsiders cannot read, list, bet on or move it,
and cannot tell it from a pool that does not exist."""

from typing import Any

import httpx
import pytest

from tests.worlds import Person, World, bet, open_pool

Client = httpx.AsyncClient

NO_SUCH_POOL = 10**9


def _outsiders(world: World) -> dict[str, dict[str, str]]:
    """Everyone but the channel's staff: anonymous, a viewer, another channel's owner."""
    return {"anonymous": {}, "viewer": world.viewers[0].auth, "stranger": world.stranger.auth}


def _staff(world: World) -> list[Person]:
    return [world.owner, world.moderator]


def _error(response: httpx.Response) -> tuple[int, str]:
    body: dict[str, Any] = response.json()
    return response.status_code, str(body["error"]["code"])


async def test_a_draft_reads_as_missing_to_all_but_its_channel_staff(
    client: Client, world: World
) -> None:
    draft = await open_pool(client, world, open=False, title="Secret giveaway pool")
    missing = _error(await client.get(f"/api/v1/pools/{NO_SUCH_POOL}"))
    assert missing == (404, "pool_not_found")
    for who, auth in _outsiders(world).items():
        response = await client.get(f"/api/v1/pools/{draft['id']}", headers=auth)
        assert _error(response) == missing, who
        assert "Secret" not in response.text
    for person in _staff(world):
        shown = await client.get(f"/api/v1/pools/{draft['id']}", headers=person.auth)
        assert shown.status_code == 200, shown.text
        assert (shown.json()["status"], shown.json()["title"]) == ("draft", "Secret giveaway pool")

    # Once opened it is public, and stays so.
    opened = await client.post(f"/api/v1/pools/{draft['id']}/open", headers=world.owner.auth)
    assert opened.status_code == 200, opened.text
    for auth in _outsiders(world).values():
        assert (await client.get(f"/api/v1/pools/{draft['id']}", headers=auth)).status_code == 200


async def test_a_draft_called_off_stays_unseen(client: Client, world: World) -> None:
    draft = await open_pool(client, world, open=False)
    cancelled = await client.post(f"/api/v1/pools/{draft['id']}/cancel", headers=world.owner.auth)
    assert cancelled.status_code == 200, cancelled.text
    for who, auth in _outsiders(world).items():
        response = await client.get(f"/api/v1/pools/{draft['id']}", headers=auth)
        assert _error(response) == (404, "pool_not_found"), who
    shown = await client.get(f"/api/v1/pools/{draft['id']}", headers=world.moderator.auth)
    assert shown.json()["status"] == "cancelled"


async def test_channel_lists_show_drafts_only_to_its_staff(client: Client, world: World) -> None:
    live = await open_pool(client, world)
    draft = await open_pool(client, world, open=False)
    path = f"/api/v1/channels/{world.channel_id}/pools"
    for who, auth in _outsiders(world).items():
        listed = (await client.get(path, headers=auth)).json()["pools"]
        assert [p["id"] for p in listed] == [live["id"]], who
        only_drafts = (await client.get(f"{path}?status=draft", headers=auth)).json()["pools"]
        assert only_drafts == [], who
    for person in _staff(world):
        listed = (await client.get(path, headers=person.auth)).json()["pools"]
        assert [p["id"] for p in listed] == [draft["id"], live["id"]]


@pytest.mark.parametrize("who", ["viewer", "stranger"])
async def test_outsiders_cannot_tell_a_draft_from_no_pool_by_acting_on_it(
    client: Client, world: World, who: str
) -> None:
    draft = await open_pool(client, world, open=False)
    outsider = world.viewers[0] if who == "viewer" else world.stranger
    for pool_id in (draft["id"], NO_SUCH_POOL):
        for action in ("open", "lock", "cancel"):
            moved = await client.post(f"/api/v1/pools/{pool_id}/{action}", headers=outsider.auth)
            assert _error(moved) == (404, "pool_not_found"), (pool_id, action)
        yes = draft["outcomes"][0]["id"]
        refused = await bet(client, world.viewers[1], pool_id, yes, 50, f"draft-{pool_id}")
        assert _error(refused) == (404, "pool_not_found"), pool_id
    # An open pool is public: there, an outsider is refused for who they are.
    live = await open_pool(client, world)
    locked = await client.post(f"/api/v1/pools/{live['id']}/lock", headers=outsider.auth)
    assert _error(locked) == (403, "forbidden")
