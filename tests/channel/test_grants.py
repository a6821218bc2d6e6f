"""Staff points grants: never to oneself, capped per granter and channel over 24 hours even
under concurrent requests, and every grant audited where the channel's owner can read it."""

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.kit.resources import Resources
from app.kit.uow import unit_of_work
from app.ledger.service import ledger_service
from app.models.user import Role
from app.settings import Settings
from tests.factories import DEFAULT_PASSWORD, bearer, create_user, register

Client = httpx.AsyncClient
Auth = dict[str, str]

CAP = 1_000
MAX_GRANT = 600


@pytest.fixture
def settings(database_url: str, redis_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        points_grant_daily_cap=CAP,
        points_max_grant=MAX_GRANT,
    )


async def _signed_in(client: Client) -> tuple[int, Auth]:
    body = await register(client)
    return int(body["user"]["id"]), bearer(body["access_token"])  # type: ignore[index]


async def _admin(client: Client, resources: Resources, settings: Settings) -> tuple[int, Auth]:
    async with unit_of_work(resources) as session:
        admin = await create_user(session, settings, role=Role.admin)
    login = await client.post(
        "/api/v1/auth/login", json={"email": admin.email, "password": DEFAULT_PASSWORD}
    )
    return admin.id, bearer(login.json()["access_token"])


async def _staffed_channel(client: Client) -> tuple[int, Auth, int, Auth, int]:
    """A channel with its owner and one moderator: (owner id, owner auth, moderator id,
    moderator auth, channel id)."""
    owner_id, owner = await _signed_in(client)
    created = await client.post(
        "/api/v1/channels", json={"slug": f"grants-{owner_id}", "name": "Grants"}, headers=owner
    )
    channel_id = int(created.json()["id"])
    moderator_id, moderator = await _signed_in(client)
    added = await client.post(
        f"/api/v1/channels/{channel_id}/moderators", json={"user_id": moderator_id}, headers=owner
    )
    assert added.status_code == 201, added.text
    return owner_id, owner, moderator_id, moderator, channel_id


async def _grant(
    client: Client, channel_id: int, auth: Auth, user_id: int, amount: int, key: str
) -> httpx.Response:
    return await client.post(
        f"/api/v1/channels/{channel_id}/grants",
        json={"user_id": user_id, "amount": amount, "reason": "thanks for the raid"},
        headers={**auth, "Idempotency-Key": key},
    )


def _code(response: httpx.Response) -> str:
    body: dict[str, Any] = response.json()
    return str(body["error"]["code"])


async def _points(resources: Resources, channel_id: int, user_id: int) -> int:
    async with unit_of_work(resources) as session:
        wallet = await ledger_service.wallet(session, user_id, f"points:{channel_id}")
        return await ledger_service.balance(session, wallet)


async def _audited(resources: Resources, channel_id: int) -> list[tuple[int, int, int, str]]:
    """(granted_by, user_id, amount, reason) of every audited grant, oldest first."""
    async with unit_of_work(resources) as session:
        rows = await session.execute(
            text(
                "SELECT granted_by, user_id, amount, reason FROM points_grants"
                " WHERE channel_id = :c ORDER BY id"
            ),
            {"c": channel_id},
        )
        return [(int(r[0]), int(r[1]), int(r[2]), str(r[3])) for r in rows]


async def test_nobody_grants_points_to_themselves(
    client: Client, resources: Resources, settings: Settings
) -> None:
    owner_id, owner, moderator_id, moderator, channel_id = await _staffed_channel(client)
    admin_id, admin = await _admin(client, resources, settings)
    for who, auth in ((owner_id, owner), (moderator_id, moderator), (admin_id, admin)):
        refused = await _grant(client, channel_id, auth, who, 100, f"me-{who}")
        assert refused.status_code == 403, refused.text
        assert _code(refused) == "self_grant"
        assert await _points(resources, channel_id, who) == 0
    assert await _audited(resources, channel_id) == []

    # Granting someone else still works, and is audited.
    granted = await _grant(client, channel_id, moderator, owner_id, 100, "to-owner")
    assert granted.status_code == 201, granted.text
    assert await _audited(resources, channel_id) == [
        (moderator_id, owner_id, 100, "thanks for the raid")
    ]


async def test_grants_are_capped_per_granter_and_channel_over_24_hours(
    client: Client, resources: Resources
) -> None:
    _, owner, moderator_id, moderator, channel_id = await _staffed_channel(client)
    viewer_id, _ = await _signed_in(client)

    assert (await _grant(client, channel_id, moderator, viewer_id, 600, "a")).status_code == 201
    assert (await _grant(client, channel_id, moderator, viewer_id, 400, "b")).status_code == 201
    over = await _grant(client, channel_id, moderator, viewer_id, 1, "c")
    assert over.status_code == 409, over.text
    assert _code(over) == "grant_cap_reached"
    details = over.json()["error"]["details"]
    assert (details["cap"], details["granted"], details["remaining"]) == (CAP, 1_000, 0)
    assert "24 hours" in over.json()["error"]["message"]

    # A retry of a grant already made answers as before and is not counted again.
    again = await _grant(client, channel_id, moderator, viewer_id, 600, "a")
    assert again.status_code == 201, again.text
    reused = await _grant(client, channel_id, moderator, viewer_id, 500, "a")
    assert _code(reused) == "idempotency_key_reused"

    # The cap is each granter's own: the owner still has all of theirs.
    assert (await _grant(client, channel_id, owner, viewer_id, 600, "o")).status_code == 201
    assert await _points(resources, channel_id, viewer_id) == 1_600

    # A day later, the moderator's earlier grants no longer count. (The audit is append-only;
    # this test's own database lifts that to age the rows.)
    async with unit_of_work(resources) as session:
        await session.execute(text("ALTER TABLE points_grants DISABLE TRIGGER USER"))
        await session.execute(
            text(
                "UPDATE points_grants SET created_at = created_at - interval '24 hours 1 second'"
                " WHERE granted_by = :m"
            ),
            {"m": moderator_id},
        )
        await session.execute(text("ALTER TABLE points_grants ENABLE TRIGGER USER"))
    assert (await _grant(client, channel_id, moderator, viewer_id, 600, "d")).status_code == 201
    assert await _points(resources, channel_id, viewer_id) == 2_200


async def test_concurrent_grants_cannot_pass_the_cap(client: Client, resources: Resources) -> None:
    _, _, moderator_id, moderator, channel_id = await _staffed_channel(client)
    viewers = [(await _signed_in(client))[0] for _ in range(3)]
    responses = await asyncio.gather(
        *(
            _grant(client, channel_id, moderator, viewers[n % 3], 300, f"burst-{n}")
            for n in range(12)
        )
    )
    accepted = [r for r in responses if r.status_code == 201]
    refused = [r for r in responses if r.status_code != 201]
    assert len(accepted) == CAP // 300
    assert {(r.status_code, _code(r)) for r in refused} == {(409, "grant_cap_reached")}

    audited = await _audited(resources, channel_id)
    assert len(audited) == len(accepted)
    assert sum(amount for _, _, amount, _ in audited) == 900
    assert {granter for granter, _, _, _ in audited} == {moderator_id}
    balances = [await _points(resources, channel_id, viewer) for viewer in viewers]
    assert sum(balances) == 900


async def test_the_owner_reads_every_grant_and_the_audit_is_append_only(
    client: Client, resources: Resources, settings: Settings
) -> None:
    owner_id, owner, moderator_id, moderator, channel_id = await _staffed_channel(client)
    viewer_id, viewer = await _signed_in(client)
    first = (await _grant(client, channel_id, moderator, viewer_id, 50, "1")).json()
    await _grant(client, channel_id, owner, viewer_id, 70, "2")
    await _grant(client, channel_id, owner, moderator_id, 90, "3")

    url = f"/api/v1/channels/{channel_id}/grants"
    page = await client.get(url, params={"limit": 2}, headers=owner)
    assert page.status_code == 200, page.text
    body = page.json()
    assert [(g["granted_by"], g["user_id"], g["amount"]) for g in body["grants"]] == [
        (owner_id, moderator_id, 90),
        (owner_id, viewer_id, 70),
    ]
    rest = (
        await client.get(url, params={"limit": 2, "before": body["next_before"]}, headers=owner)
    ).json()
    assert rest["next_before"] is None
    [oldest] = rest["grants"]
    assert oldest["granted_by"] == moderator_id
    assert oldest["user_id"] == viewer_id
    assert oldest["amount"] == 50
    assert oldest["reason"] == "thanks for the raid"
    assert oldest["currency"] == f"points:{channel_id}"
    assert oldest["transaction_id"] == first["transaction_id"]
    assert oldest["created_at"]

    _, admin = await _admin(client, resources, settings)
    assert (await client.get(url, headers=admin)).status_code == 200
    for auth in (moderator, viewer):
        refused = await client.get(url, headers=auth)
        assert refused.status_code == 403
        assert _code(refused) == "forbidden"
    assert (await client.get(url)).status_code == 401

    for statement in ("UPDATE points_grants SET amount = 1", "DELETE FROM points_grants"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with unit_of_work(resources) as session:
                await session.execute(text(statement))
    assert len(await _audited(resources, channel_id)) == 3
