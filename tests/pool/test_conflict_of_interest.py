"""Nobody holding a position decides where a pool's money goes: not a moderator, not the owner,
not a platform admin. Resolving is refused to them, and so is cancelling once the pool is
locked; the pool and every balance stay as they were."""

from typing import Any

import httpx
import pytest
from sqlalchemy import text

from app.auth.tokens import Principal
from app.channel.permissions import channel_or_404
from app.kit.resources import Resources
from app.kit.uow import unit_of_work
from app.ledger.service import ledger_service
from app.models.channel import Platform
from app.models.user import Role
from app.platform.schemas import IdentityInfo
from app.platform.service import platform_identity_service
from app.pool.betting import pool_betting
from app.pool.errors import ConflictOfInterest
from app.pool.lifecycle import pool_lifecycle
from app.pool.schemas import BetCreate
from app.settings import Settings
from tests.conftest import RunJobs
from tests.factories import DEFAULT_PASSWORD, bearer, create_user, fund_wallet
from tests.worlds import Person, World, bet, open_pool, points_balance

Client = httpx.AsyncClient


def _code(response: httpx.Response) -> str:
    body: dict[str, Any] = response.json()
    return str(body["error"]["code"])


async def _admin(client: Client, resources: Resources, settings: Settings, world: World) -> Person:
    """A platform admin with points of the world's channel to bet with."""
    async with unit_of_work(resources) as session:
        admin = await create_user(session, settings, role=Role.admin, display_name="Admin")
        await fund_wallet(session, admin.id, 10_000, world.currency)
    login = await client.post(
        "/api/v1/auth/login", json={"email": admin.email, "password": DEFAULT_PASSWORD}
    )
    token = login.json()["access_token"]
    return Person(admin.id, bearer(token), token)


async def _fund(resources: Resources, person: Person, world: World) -> None:
    async with unit_of_work(resources) as session:
        await fund_wallet(session, person.id, 10_000, world.currency)


async def _escrow(resources: Resources, pool_id: int) -> int:
    async with unit_of_work(resources) as session:
        escrow = await session.scalar(
            text("SELECT escrow_account_id FROM pools WHERE id = :p"), {"p": pool_id}
        )
        return await ledger_service.balance(session, int(escrow))


async def _locked_pool_with_stakes(
    client: Client, world: World, holder: Person
) -> tuple[dict[str, Any], int]:
    """An open pool where ``holder`` backs "No" and a viewer backs "Yes", then locked by the
    owner; returns the pool and its "Yes" outcome."""
    pool = await open_pool(client, world)
    yes, no = (o["id"] for o in pool["outcomes"])
    assert (await bet(client, holder, pool["id"], no, 400, "holder")).status_code == 201
    assert (await bet(client, world.viewers[0], pool["id"], yes, 600, "v")).status_code == 201
    locked = await client.post(f"/api/v1/pools/{pool['id']}/lock", headers=world.owner.auth)
    assert locked.status_code == 200, locked.text
    return pool, yes


async def test_a_moderator_with_a_position_cannot_cancel_a_locked_pool(
    client: Client, world: World, resources: Resources, run_jobs: RunJobs
) -> None:
    moderator, viewer = world.moderator, world.viewers[0]
    pool, _ = await _locked_pool_with_stakes(client, world, moderator)
    path = f"/api/v1/pools/{pool['id']}"

    refused = await client.post(f"{path}/cancel", headers=moderator.auth)
    assert refused.status_code == 403, refused.text
    assert _code(refused) == "conflict_of_interest"
    assert "position" in refused.json()["error"]["message"]
    await run_jobs()

    still = (await client.get(path)).json()
    assert (still["status"], still["cancelled_at"]) == ("locked", None)
    assert await _escrow(resources, pool["id"]) == 1_000
    assert await points_balance(client, moderator, world.currency) == 10_000 - 400
    assert await points_balance(client, viewer, world.currency) == 10_000 - 600
    async with unit_of_work(resources) as session:
        cancels = await session.scalar(
            text(
                "SELECT count(*) FROM pool_transitions"
                " WHERE pool_id = :p AND to_status = 'cancelled'"
            ),
            {"p": pool["id"]},
        )
    assert cancels == 0

    # Staff without a position still can, and everyone gets their stake back.
    assert (await client.post(f"{path}/cancel", headers=world.owner.auth)).status_code == 200
    await run_jobs()
    assert await points_balance(client, moderator, world.currency) == 10_000
    assert await _escrow(resources, pool["id"]) == 0


async def test_a_moderator_with_a_position_may_still_call_off_an_open_pool(
    client: Client, world: World, resources: Resources, run_jobs: RunJobs
) -> None:
    """Betting is still going on and every stake comes back exactly: nothing is decided."""
    pool = await open_pool(client, world)
    yes = pool["outcomes"][0]["id"]
    assert (await bet(client, world.moderator, pool["id"], yes, 300, "m")).status_code == 201
    cancelled = await client.post(
        f"/api/v1/pools/{pool['id']}/cancel", headers=world.moderator.auth
    )
    assert cancelled.status_code == 200, cancelled.text
    await run_jobs()
    assert await points_balance(client, world.moderator, world.currency) == 10_000
    assert await _escrow(resources, pool["id"]) == 0


@pytest.mark.parametrize("who", ["admin", "owner"])
async def test_an_admin_or_owner_with_a_position_cannot_resolve_nor_cancel_a_locked_pool(
    client: Client,
    world: World,
    resources: Resources,
    settings: Settings,
    run_jobs: RunJobs,
    who: str,
) -> None:
    if who == "admin":
        holder = await _admin(client, resources, settings, world)
    else:
        holder = world.owner
        await _fund(resources, holder, world)
    pool, yes = await _locked_pool_with_stakes(client, world, holder)
    path = f"/api/v1/pools/{pool['id']}"

    for action, body in (("resolve", {"outcome_id": yes}), ("cancel", None)):
        refused = await client.post(f"{path}/{action}", json=body, headers=holder.auth)
        assert refused.status_code == 403, (action, refused.text)
        assert _code(refused) == "conflict_of_interest"
        assert refused.json()["error"]["details"]["action"] == action
    await run_jobs()
    assert (await client.get(path)).json()["status"] == "locked"
    assert await _escrow(resources, pool["id"]) == 1_000
    assert await points_balance(client, holder, world.currency) == 10_000 - 400

    # A moderator without a position resolves it; the pool pays as usual.
    resolved = await client.post(
        f"{path}/resolve", json={"outcome_id": yes}, headers=world.moderator.auth
    )
    assert resolved.status_code == 200, resolved.text
    await run_jobs()
    assert (await client.get(path)).json()["status"] == "settled"
    assert await points_balance(client, world.viewers[0], world.currency) == 10_000 + 400
    assert await points_balance(client, holder, world.currency) == 10_000 - 400


async def test_the_rule_holds_in_the_service_whatever_the_transport(
    client: Client, world: World, resources: Resources, settings: Settings
) -> None:
    """Socket.IO and chat commands call the same service functions REST does."""
    admin = await _admin(client, resources, settings, world)
    pool, yes = await _locked_pool_with_stakes(client, world, admin)
    actor = Principal(admin.id, Role.admin)
    with pytest.raises(ConflictOfInterest):
        async with unit_of_work(resources) as session:
            await pool_lifecycle.resolve(session, resources, actor, pool["id"], yes)
    with pytest.raises(ConflictOfInterest):
        async with unit_of_work(resources) as session:
            await pool_lifecycle.cancel(session, resources, actor, pool["id"])
    # Automation acting for the channel holds no position: the stale-pool sweep still cancels.
    async with unit_of_work(resources) as session:
        cancelled = await pool_lifecycle.cancel(session, resources, None, pool["id"])
    assert cancelled.status == "cancelled"


async def test_a_position_held_through_a_merged_chat_account_counts(
    client: Client, world: World, resources: Resources, settings: Settings
) -> None:
    """A moderator who bet from Twitch chat before signing in (a chat-only account, merged into
    theirs when they linked Twitch) holds that position: they may not resolve the pool."""
    pool = await open_pool(client, world)
    yes, no = (o["id"] for o in pool["outcomes"])
    identity = IdentityInfo(
        platform=Platform.twitch, platform_user_id="90210", login="modlurker", display_name="Mod"
    )
    async with unit_of_work(resources) as session:
        channel = await channel_or_404(session, world.channel_id)
        chatter = await platform_identity_service.chatter(
            session, settings, channel, Platform.twitch, "90210", "modlurker", "Mod"
        )
        await pool_betting.place_bet(
            session, resources, chatter.id, pool["id"], BetCreate(outcome_id=no, amount=100), "c"
        )
    assert (await bet(client, world.viewers[0], pool["id"], yes, 600, "v")).status_code == 201
    async with unit_of_work(resources) as session:
        await platform_identity_service.link_platform_to_user(
            session, settings, world.moderator.id, identity
        )
    path = f"/api/v1/pools/{pool['id']}"
    assert (await client.post(f"{path}/lock", headers=world.owner.auth)).status_code == 200

    refused = await client.post(
        f"{path}/resolve", json={"outcome_id": no}, headers=world.moderator.auth
    )
    assert refused.status_code == 403, refused.text
    assert _code(refused) == "conflict_of_interest"
    assert (await client.get(path)).json()["status"] == "locked"
