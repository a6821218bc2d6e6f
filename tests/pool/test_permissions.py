"""Only a channel's staff open its drafts, save its templates and open pools from them; a
template is opened only in its own channel."""

from typing import Any

import httpx
import pytest
from sqlalchemy import text

from app.kit.resources import Resources
from app.kit.uow import unit_of_work
from tests.worlds import Person, World, bet, open_pool

Client = httpx.AsyncClient

TEMPLATE = {"name": "boss", "title": "Boss first try?", "outcomes": ["Yes", "No"]}


def _outsider(world: World, who: str) -> Person:
    """A viewer of the channel, or the owner of another channel."""
    return world.viewers[0] if who == "viewer" else world.stranger


def _code(response: httpx.Response) -> str:
    body: dict[str, Any] = response.json()
    return str(body["error"]["code"])


async def _count(resources: Resources, table: str) -> int:
    async with unit_of_work(resources) as session:
        return int(await session.scalar(text(f"SELECT count(*) FROM {table}")) or 0)


async def _template(client: Client, channel_id: int, owner: Person) -> int:
    response = await client.post(
        f"/api/v1/channels/{channel_id}/templates", json=TEMPLATE, headers=owner.auth
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def _stranger_channel(resources: Resources, world: World) -> int:
    async with unit_of_work(resources) as session:
        found = await session.scalar(
            text("SELECT id FROM channels WHERE owner_id = :u"), {"u": world.stranger.id}
        )
    return int(found)


@pytest.mark.parametrize("who", ["viewer", "stranger"])
async def test_only_staff_open_a_draft(
    client: Client, world: World, resources: Resources, who: str
) -> None:
    draft = await open_pool(client, world, open=False)
    path = f"/api/v1/pools/{draft['id']}"
    # Refused as if there were no such pool: a draft's existence is not theirs to know.
    refused = await client.post(f"{path}/open", headers=_outsider(world, who).auth)
    assert refused.status_code == 404, refused.text
    assert _code(refused) == "pool_not_found"

    still = (await client.get(path, headers=world.owner.auth)).json()
    assert (still["status"], still["opened_at"], still["closes_at"]) == ("draft", None, None)
    async with unit_of_work(resources) as session:
        moves = await session.scalar(
            text(
                "SELECT count(*) FROM pool_transitions WHERE pool_id = :p AND to_status <> 'draft'"
            ),
            {"p": draft["id"]},
        )
    assert moves == 0
    yes = draft["outcomes"][0]["id"]
    assert _code(await bet(client, world.viewers[1], draft["id"], yes, 50, "d")) == "pool_not_found"
    # The owner still can.
    opened = await client.post(f"{path}/open", headers=world.owner.auth)
    assert opened.json()["status"] == "open"


@pytest.mark.parametrize("who", ["viewer", "stranger"])
async def test_only_staff_save_templates(
    client: Client, world: World, resources: Resources, who: str
) -> None:
    refused = await client.post(
        f"/api/v1/channels/{world.channel_id}/templates",
        json=TEMPLATE,
        headers=_outsider(world, who).auth,
    )
    assert refused.status_code == 403, refused.text
    assert _code(refused) == "forbidden"
    assert await _count(resources, "pool_templates") == 0
    listed = await client.get(
        f"/api/v1/channels/{world.channel_id}/templates", headers=world.owner.auth
    )
    assert listed.json()["templates"] == []


@pytest.mark.parametrize("who", ["viewer", "stranger"])
async def test_only_staff_open_a_pool_from_a_template(
    client: Client, world: World, resources: Resources, who: str
) -> None:
    template_id = await _template(client, world.channel_id, world.owner)
    refused = await client.post(
        f"/api/v1/channels/{world.channel_id}/templates/{template_id}/open",
        headers=_outsider(world, who).auth,
    )
    assert refused.status_code == 403, refused.text
    assert _code(refused) == "forbidden"
    assert await _count(resources, "pools") == 0
    listed = await client.get(f"/api/v1/channels/{world.channel_id}/pools")
    assert listed.json()["pools"] == []


async def test_a_template_opens_only_in_its_own_channel(
    client: Client, world: World, resources: Resources
) -> None:
    other_channel = await _stranger_channel(resources, world)
    theirs = await _template(client, other_channel, world.stranger)

    # Our owner, naming our channel and their template: no such template here.
    borrowed = await client.post(
        f"/api/v1/channels/{world.channel_id}/templates/{theirs}/open", headers=world.owner.auth
    )
    assert borrowed.status_code == 404, borrowed.text
    assert _code(borrowed) == "not_found"
    # Their owner, pushing their template into our channel: the same.
    pushed = await client.post(
        f"/api/v1/channels/{world.channel_id}/templates/{theirs}/open",
        headers=world.stranger.auth,
    )
    assert pushed.status_code == 404, pushed.text
    # Our owner, naming their channel: not staff there.
    foreign = await client.post(
        f"/api/v1/channels/{other_channel}/templates/{theirs}/open", headers=world.owner.auth
    )
    assert foreign.status_code == 403, foreign.text
    assert _code(foreign) == "forbidden"
    assert await _count(resources, "pools") == 0
    for channel_id in (world.channel_id, other_channel):
        listed = await client.get(f"/api/v1/channels/{channel_id}/pools")
        assert listed.json()["pools"] == []

    # The template's own staff open it in its own channel.
    own = await client.post(
        f"/api/v1/channels/{other_channel}/templates/{theirs}/open", headers=world.stranger.auth
    )
    assert own.status_code == 201, own.text
    assert own.json()["channel_id"] == other_channel
