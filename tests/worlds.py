"""A channel with its owner, a moderator and funded viewers, for the pool and realtime tests;
after every test the suite checks that the whole ledger still holds every invariant."""

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from app.kit.currency import points
from app.kit.resources import Resources
from app.kit.uow import unit_of_work
from tests.factories import add_moderator, bearer, create_channel, fund_wallet, register


@dataclass
class Person:
    id: int
    auth: dict[str, str]
    token: str


@dataclass
class World:
    channel_id: int
    currency: str
    owner: Person
    moderator: Person
    viewers: list[Person]
    stranger: Person  # owns another channel


async def _person(client: httpx.AsyncClient, name: str) -> Person:
    body = await register(client, display_name=name)
    token = str(body["access_token"])
    return Person(int(body["user"]["id"]), bearer(token), token)  # type: ignore[index]


@pytest.fixture
async def world(client: httpx.AsyncClient, resources: Resources) -> World:
    owner = await _person(client, "Owner")
    moderator = await _person(client, "Mod")
    stranger = await _person(client, "Stranger")
    viewers = [await _person(client, f"Viewer{n}") for n in range(4)]
    async with unit_of_work(resources) as session:
        channel = await create_channel(session, owner.id)
        await create_channel(session, stranger.id)
        await add_moderator(session, channel.id, moderator.id, owner.id)
        for person in [moderator, *viewers]:
            await fund_wallet(session, person.id, 10_000, points(channel.id))
    return World(channel.id, points(channel.id), owner, moderator, viewers, stranger)


def pool_body(world: World, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "channel_id": world.channel_id,
        "title": "Will she beat the boss first try?",
        "outcomes": ["Yes", "No"],
        "window_seconds": 600,
        "min_stake": 10,
        "max_stake": 5_000,
    }
    body.update(overrides)
    return body


async def open_pool(client: httpx.AsyncClient, world: World, **overrides: Any) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/pools", json=pool_body(world, **overrides), headers=world.owner.auth
    )
    assert response.status_code == 201, response.text
    pool: dict[str, Any] = response.json()
    return pool


async def bet(
    client: httpx.AsyncClient, person: Person, pool_id: int, outcome_id: int, amount: Any, key: str
) -> httpx.Response:
    return await client.post(
        f"/api/v1/pools/{pool_id}/bets",
        json={"outcome_id": outcome_id, "amount": amount},
        headers={**person.auth, "Idempotency-Key": key},
    )


async def points_balance(client: httpx.AsyncClient, person: Person, currency: str) -> int:
    wallets = (await client.get("/api/v1/me/wallets", headers=person.auth)).json()["wallets"]
    return next(int(w["balance"]) for w in wallets if w["currency"] == currency)
