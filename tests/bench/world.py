"""The data the realtime benchmarks need: a channel with open pools, and signed-in bettors
holding that channel's points. Written straight through the services, no HTTP."""

import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from app.auth.tokens import Principal, issue_access_token
from app.kit.currency import points
from app.kit.resources import open_resources
from app.kit.uow import unit_of_work
from app.models.user import Role
from app.settings import Settings
from app.user.repository import user_repository
from tests.bench.stack import JWT_SECRET, Stack
from tests.factories import create_channel, create_pool, fund_wallet


@dataclass(frozen=True)
class World:
    channel_id: int
    #: Each pool's id and its outcome ids.
    pools: list[tuple[int, list[int]]]
    #: Each bettor's user id and access token.
    bettors: list[tuple[int, str]]

    def pools_config(self) -> list[dict[str, Any]]:
        return [{"id": pool_id, "outcomes": outcomes} for pool_id, outcomes in self.pools]

    def bettors_config(self) -> list[dict[str, Any]]:
        return [{"token": token} for _, token in self.bettors]


def bench_settings(stack: Stack) -> Settings:
    return Settings(
        database_url=stack.database_url,
        redis_url=stack.redis.url,
        jwt_secret=SecretStr(JWT_SECRET),
        access_token_ttl_seconds=3600,
    )


async def build_world(stack: Stack, *, pools: int, bettors: int, funds: int) -> World:
    """A channel with ``pools`` open two-outcome pools (stakes 1 to 1,000,000) and ``bettors``
    users with ``funds`` of its points each, ids in creation order."""
    settings = bench_settings(stack)
    resources = await open_resources(settings)
    try:
        async with unit_of_work(resources) as session:
            owner = await user_repository.create(
                session, email="owner@bench.example", password_hash=None, display_name="Owner"
            )
            channel = await create_channel(session, owner.id, slug="bench")
        actor = Principal(owner.id, Role.user)
        opened: list[tuple[int, list[int]]] = []
        for number in range(pools):
            async with unit_of_work(resources) as session:
                pool = await create_pool(
                    session,
                    resources,
                    channel,
                    title=f"Bench pool {number + 1}",
                    window_seconds=3600,
                    actor=actor,
                )
            opened.append((pool.id, [o.id for o in pool.outcomes]))
        people: list[tuple[int, str]] = []
        async with unit_of_work(resources) as session:
            for number in range(bettors):
                user = await user_repository.create(
                    session,
                    email=f"bettor{number + 1}@bench.example",
                    password_hash=None,
                    display_name=f"Bettor {number + 1}",
                )
                await fund_wallet(session, user.id, funds, points(channel.id))
                token, _ = issue_access_token(settings, user.id, Role.user, uuid.uuid4())
                people.append((user.id, token))
        return World(channel.id, opened, people)
    finally:
        await resources.close()
