"""Channels over the API: creation, settings, platform links, moderators and channel points
(sign-up grant, daily bonus, staff grants), who may do what, and the ledger after it all."""

import asyncio
import itertools
from typing import Any

import httpx
from sqlalchemy import text

from app.channel.repository import channel_repository
from app.channel.service import channel_service
from app.kit.resources import Resources
from app.kit.uow import unit_of_work
from app.models.channel import Channel
from app.models.user import Role
from app.settings import Settings
from tests.factories import (
    DEFAULT_PASSWORD,
    bearer,
    create_platform_account,
    create_user,
    register,
)

Client = httpx.AsyncClient
Auth = dict[str, str]

_slugs = itertools.count(1)


async def _signed_in(client: Client) -> tuple[int, Auth]:
    body = await register(client)
    return int(body["user"]["id"]), bearer(body["access_token"])  # type: ignore[index]


async def _admin(client: Client, resources: Resources, settings: Settings) -> Auth:
    async with unit_of_work(resources) as session:
        admin = await create_user(session, settings, role=Role.admin)
    login = await client.post(
        "/api/v1/auth/login", json={"email": admin.email, "password": DEFAULT_PASSWORD}
    )
    return bearer(login.json()["access_token"])


async def _channel(client: Client, auth: Auth, slug: str | None = None) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/channels",
        json={"slug": slug or f"chan-{next(_slugs)}", "name": "Speedrun Sam"},
        headers=auth,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _owned_channel(client: Client) -> tuple[int, Auth, int]:
    """A new user and a channel they own: (owner id, owner auth, channel id)."""
    owner_id, auth = await _signed_in(client)
    channel = await _channel(client, auth)
    return owner_id, auth, int(channel["id"])


async def _add_moderator(client: Client, channel_id: int, owner: Auth, user_id: int) -> None:
    response = await client.post(
        f"/api/v1/channels/{channel_id}/moderators", json={"user_id": user_id}, headers=owner
    )
    assert response.status_code == 201, response.text


def _code(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


async def _audit(resources: Resources, channel_id: int) -> list[tuple[int | None, str, Any]]:
    async with unit_of_work(resources) as session:
        trail = await channel_repository.audit_trail(session, channel_id)
    return [(row.actor_id, row.action, row.details) for row in trail]


# -- channels ---------------------------------------------------------------------------------


async def test_a_channel_is_created_by_its_owner_and_shown_to_anyone(client: Client) -> None:
    owner_id, auth = await _signed_in(client)
    created = await _channel(client, auth, "speedrun_sam-42")
    assert created["slug"] == "speedrun_sam-42"
    assert created["owner_id"] == owner_id
    assert created["cash_enabled"] is False
    assert created["links"] == []

    shown = await client.get(f"/api/v1/channels/{created['id']}")  # no sign-in needed
    assert shown.status_code == 200
    assert shown.json() == created

    anonymous = await client.post("/api/v1/channels", json={"slug": "anon", "name": "Anon"})
    assert anonymous.status_code == 401


async def test_a_slug_is_taken_once_even_by_concurrent_requests(client: Client) -> None:
    _, first = await _signed_in(client)
    _, second = await _signed_in(client)
    await _channel(client, first, "taken")
    again = await client.post(
        "/api/v1/channels", json={"slug": "taken", "name": "Other"}, headers=second
    )
    assert again.status_code == 409
    assert _code(again) == "channel_slug_taken"

    racers = [(await _signed_in(client))[1] for _ in range(5)]
    responses = await asyncio.gather(
        *(
            client.post("/api/v1/channels", json={"slug": "raced", "name": "Race"}, headers=auth)
            for auth in racers
        )
    )
    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409, 409]
    assert {_code(r) for r in responses if r.status_code == 409} == {"channel_slug_taken"}


async def test_malformed_channels_are_422(client: Client) -> None:
    _, auth = await _signed_in(client)
    bad_bodies: list[dict[str, Any]] = [
        {"slug": "ab", "name": "Too short slug"},
        {"slug": "x" * 41, "name": "Too long slug"},
        {"slug": "Upper", "name": "Capitals"},
        {"slug": "has space", "name": "Space"},
        {"slug": "dot.ted", "name": "Dot"},
        {"slug": "fine", "name": ""},
        {"slug": "fine", "name": "   "},
        {"slug": "fine", "name": "n" * 81},
        {"slug": "fine"},
        {"slug": "fine", "name": "Fine", "cash_enabled": True},  # unknown on create
        {"slug": 123, "name": "Fine"},
    ]
    for body in bad_bodies:
        response = await client.post("/api/v1/channels", json=body, headers=auth)
        assert response.status_code == 422, body
        assert _code(response) == "validation_error"
    # Nothing was half-created: the slug is still free.
    await _channel(client, auth, "fine")


async def test_the_owner_renames_but_only_an_admin_turns_cash_on(
    client: Client, resources: Resources, settings: Settings
) -> None:
    owner_id, owner, channel_id = await _owned_channel(client)
    url = f"/api/v1/channels/{channel_id}"

    renamed = await client.patch(url, json={"name": "Sam Runs"}, headers=owner)
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "Sam Runs"

    cash = await client.patch(url, json={"cash_enabled": True}, headers=owner)
    assert cash.status_code == 403
    assert _code(cash) == "cash_needs_approval"
    unchanged = await client.patch(url, json={"name": "Sam", "cash_enabled": False}, headers=owner)
    assert unchanged.status_code == 200  # sending the current value back is no change

    admin = await _admin(client, resources, settings)
    approved = await client.patch(url, json={"cash_enabled": True}, headers=admin)
    assert approved.status_code == 200
    assert approved.json()["cash_enabled"] is True
    assert (await client.get(url)).json()["cash_enabled"] is True

    assert (await client.patch(url, json={"slug": "new"}, headers=owner)).status_code == 422
    assert (await client.patch(url, json={"name": ""}, headers=owner)).status_code == 422

    actions = [(actor, action) for actor, action, _ in await _audit(resources, channel_id)]
    assert actions == [
        (owner_id, "channel_created"),
        (owner_id, "channel_updated"),
        (owner_id, "channel_updated"),
        (actions[-1][0], "channel_updated"),
    ]
    assert actions[-1][0] != owner_id  # the admin


async def test_the_owner_lets_twitch_moderators_run_pools_from_chat(
    client: Client, resources: Resources
) -> None:
    owner_id, owner, channel_id = await _owned_channel(client)
    moderator_id, moderator = await _signed_in(client)
    await _add_moderator(client, channel_id, owner, moderator_id)
    url = f"/api/v1/channels/{channel_id}"
    assert (await client.get(url)).json()["twitch_moderators_run_pools"] is False

    refused = await client.patch(url, json={"twitch_moderators_run_pools": True}, headers=moderator)
    assert refused.status_code == 403
    allowed = await client.patch(url, json={"twitch_moderators_run_pools": True}, headers=owner)
    assert allowed.status_code == 200
    assert allowed.json()["twitch_moderators_run_pools"] is True
    assert (await client.get(url)).json()["twitch_moderators_run_pools"] is True

    trail = await _audit(resources, channel_id)
    assert trail[-1] == (owner_id, "channel_updated", {"twitch_moderators_run_pools": True})


async def test_who_may_change_a_channel(client: Client) -> None:
    _, owner, channel_id = await _owned_channel(client)
    _, other_owner, _ = await _owned_channel(client)
    viewer_id, viewer = await _signed_in(client)
    moderator_id, moderator = await _signed_in(client)
    await _add_moderator(client, channel_id, owner, moderator_id)
    base = f"/api/v1/channels/{channel_id}"

    owner_only = [
        ("PATCH", base, {"name": "Mine now"}),
        ("POST", f"{base}/links", {"platform": "youtube", "external_id": "123"}),
        ("POST", f"{base}/moderators", {"user_id": viewer_id}),
        ("DELETE", f"{base}/moderators/{moderator_id}", None),
    ]
    for auth in (viewer, other_owner, moderator):
        for method, url, body in owner_only:
            response = await client.request(method, url, json=body, headers=auth)
            assert response.status_code == 403, (method, url)
            assert _code(response) == "forbidden"

    for auth in (viewer, other_owner):
        for method, url, body in [
            ("GET", f"{base}/moderators", None),
            ("POST", f"{base}/grants", {"user_id": viewer_id, "amount": 10, "reason": "hi"}),
        ]:
            response = await client.request(
                method, url, json=body, headers={**auth, "Idempotency-Key": "k"}
            )
            assert response.status_code == 403, (method, url)

    # Nothing changed behind the refusals.
    channel = (await client.get(base)).json()
    assert channel["name"] == "Speedrun Sam"
    assert channel["links"] == []
    moderators = (await client.get(f"{base}/moderators", headers=owner)).json()["moderators"]
    assert [m["user_id"] for m in moderators] == [moderator_id]


async def test_an_unknown_channel_is_404_everywhere(client: Client) -> None:
    user_id, auth = await _signed_in(client)
    base = "/api/v1/channels/999999"
    for method, url, body in [
        ("GET", base, None),
        ("PATCH", base, {"name": "x"}),
        ("POST", f"{base}/links", {"platform": "youtube", "external_id": "x"}),
        ("DELETE", f"{base}/links/1", None),
        ("GET", f"{base}/moderators", None),
        ("POST", f"{base}/moderators", {"user_id": user_id}),
        ("DELETE", f"{base}/moderators/{user_id}", None),
        ("POST", f"{base}/join", None),
        ("POST", f"{base}/daily-bonus", None),
        ("GET", f"{base}/members/me", None),
        ("POST", f"{base}/grants", {"user_id": user_id, "amount": 1, "reason": "x"}),
    ]:
        response = await client.request(
            method, url, json=body, headers={**auth, "Idempotency-Key": "k"}
        )
        assert response.status_code == 404, (method, url)
        assert _code(response) == "channel_not_found"


async def test_everything_but_reading_a_channel_needs_sign_in(client: Client) -> None:
    _, _, channel_id = await _owned_channel(client)
    base = f"/api/v1/channels/{channel_id}"
    assert (await client.get(base)).status_code == 200
    for method, url, body in [
        ("PATCH", base, {"name": "x"}),
        ("POST", f"{base}/links", {"platform": "youtube", "external_id": "x"}),
        ("DELETE", f"{base}/links/1", None),
        ("GET", f"{base}/moderators", None),
        ("POST", f"{base}/moderators", {"user_id": 1}),
        ("DELETE", f"{base}/moderators/1", None),
        ("POST", f"{base}/join", None),
        ("POST", f"{base}/daily-bonus", None),
        ("GET", f"{base}/members/me", None),
        ("POST", f"{base}/grants", {"user_id": 1, "amount": 1, "reason": "x"}),
    ]:
        response = await client.request(method, url, json=body, headers={"Idempotency-Key": "k"})
        assert response.status_code == 401, (method, url)
        assert _code(response) == "not_authenticated"


# -- platform links ---------------------------------------------------------------------------


async def test_a_platform_channel_is_linked_to_one_channel_only(
    client: Client, resources: Resources
) -> None:
    _, owner, channel_id = await _owned_channel(client)
    rival_id_user, rival, rival_id = await _owned_channel(client)

    linked = await client.post(
        f"/api/v1/channels/{channel_id}/links",
        json={"platform": "youtube", "external_id": "141981764"},
        headers=owner,
    )
    assert linked.status_code == 201
    link = linked.json()
    assert link["platform"] == "youtube"
    assert link["verified"] is False
    assert link["status"] == "unverified"

    for auth, target in [(rival, rival_id), (owner, channel_id)]:
        taken = await client.post(
            f"/api/v1/channels/{target}/links",
            json={"platform": "youtube", "external_id": "141981764"},
            headers=auth,
        )
        assert taken.status_code == 409
        assert _code(taken) == "platform_channel_taken"

    # The same id on another platform is another platform channel (a Kick one, linked by its
    # owner through Kick sign-in).
    async with unit_of_work(resources) as session:
        rivals = await session.get(Channel, rival_id)
        assert rivals is not None
        account = await create_platform_account(
            session, rival_id_user, platform="kick", platform_user_id="141981764"
        )
        same_id_elsewhere = await channel_service.link_verified(session, rivals, account)
    assert (same_id_elsewhere.platform, same_id_elsewhere.external_id) == ("kick", "141981764")

    shown = (await client.get(f"/api/v1/channels/{channel_id}")).json()
    assert shown["links"] == [link]

    # The rival cannot remove it, neither through the channel nor through their own.
    mine = f"/api/v1/channels/{channel_id}/links/{link['id']}"
    assert (await client.delete(mine, headers=rival)).status_code == 403
    through_own = await client.delete(
        f"/api/v1/channels/{rival_id}/links/{link['id']}", headers=rival
    )
    assert through_own.status_code == 404
    assert _code(through_own) == "link_not_found"

    assert (await client.delete(mine, headers=owner)).status_code == 204
    assert (await client.get(f"/api/v1/channels/{channel_id}")).json()["links"] == []
    gone = await client.delete(mine, headers=owner)
    assert gone.status_code == 404
    assert _code(gone) == "link_not_found"

    freed = await client.post(
        f"/api/v1/channels/{rival_id}/links",
        json={"platform": "youtube", "external_id": "141981764"},
        headers=rival,
    )
    assert freed.status_code == 201

    actions = [action for _, action, _ in await _audit(resources, channel_id)]
    assert actions == ["channel_created", "link_added", "link_removed"]


async def test_twitch_and_kick_channels_are_never_declared_only_linked_through_sign_in(
    client: Client,
) -> None:
    _, owner, channel_id = await _owned_channel(client)
    for platform in ("twitch", "kick"):
        refused = await client.post(
            f"/api/v1/channels/{channel_id}/links",
            json={"platform": platform, "external_id": "141981764"},
            headers=owner,
        )
        assert refused.status_code == 403
        assert _code(refused) == "link_requires_oauth"
    assert (await client.get(f"/api/v1/channels/{channel_id}")).json()["links"] == []


async def test_malformed_links_are_422(client: Client) -> None:
    _, owner, channel_id = await _owned_channel(client)
    for body in [
        {"platform": "facebook", "external_id": "1"},
        {"platform": "twitch", "external_id": ""},
        {"platform": "twitch", "external_id": "x" * 129},
        {"platform": "twitch", "external_id": "1", "verified": True},
        {"platform": "twitch"},
    ]:
        response = await client.post(
            f"/api/v1/channels/{channel_id}/links", json=body, headers=owner
        )
        assert response.status_code == 422, body


# -- moderators -------------------------------------------------------------------------------


async def test_the_owner_adds_and_removes_moderators_and_it_is_audited(
    client: Client, resources: Resources
) -> None:
    owner_id, owner, channel_id = await _owned_channel(client)
    moderator_id, moderator = await _signed_in(client)
    url = f"/api/v1/channels/{channel_id}/moderators"

    for _ in range(2):  # adding twice is harmless
        added = await client.post(url, json={"user_id": moderator_id}, headers=owner)
        assert added.status_code == 201
        assert [m["user_id"] for m in added.json()["moderators"]] == [moderator_id]

    listed = await client.get(url, headers=moderator)  # moderators see the list too
    assert listed.status_code == 200
    assert listed.json()["moderators"][0]["added_by"] == owner_id

    unknown = await client.post(url, json={"user_id": 999999}, headers=owner)
    assert unknown.status_code == 404
    assert _code(unknown) == "user_not_found"
    for body in [{"user_id": "7"}, {"user_id": 0}, {}, {"user_id": moderator_id, "x": 1}]:
        assert (await client.post(url, json=body, headers=owner)).status_code == 422, body

    assert (await client.delete(f"{url}/{moderator_id}", headers=owner)).status_code == 204
    assert (await client.delete(f"{url}/{moderator_id}", headers=owner)).status_code == 204
    assert (await client.get(url, headers=owner)).json()["moderators"] == []
    assert (await client.get(url, headers=moderator)).status_code == 403

    trail = await _audit(resources, channel_id)
    assert trail[1:] == [
        (owner_id, "moderator_added", {"user_id": moderator_id}),
        (owner_id, "moderator_removed", {"user_id": moderator_id}),
    ]


# -- channel points ---------------------------------------------------------------------------


async def test_joining_grants_sign_up_points_once(
    client: Client, resources: Resources, settings: Settings
) -> None:
    _, _, channel_id = await _owned_channel(client)
    viewer_id, viewer = await _signed_in(client)
    url = f"/api/v1/channels/{channel_id}"

    before = await client.get(f"{url}/members/me", headers=viewer)
    assert before.status_code == 403
    assert _code(before) == "not_a_member"

    joined = await client.post(f"{url}/join", headers=viewer)
    assert joined.status_code == 200
    membership = joined.json()
    assert membership["user_id"] == viewer_id
    assert membership["currency"] == f"points:{channel_id}"
    assert membership["balance"] == settings.points_signup_grant
    assert membership["next_bonus_at"] is None

    again = await client.post(f"{url}/join", headers=viewer)
    assert again.json() == membership
    assert (await client.get(f"{url}/members/me", headers=viewer)).json() == membership

    # Concurrent first joins of another viewer grant once too.
    _, racer = await _signed_in(client)
    responses = await asyncio.gather(*(client.post(f"{url}/join", headers=racer) for _ in range(8)))
    assert {r.status_code for r in responses} == {200}
    assert {r.json()["balance"] for r in responses} == {settings.points_signup_grant}

    wallets = (await client.get("/api/v1/me/wallets", headers=viewer)).json()["wallets"]
    assert wallets == [
        {
            "currency": f"points:{channel_id}",
            "balance": settings.points_signup_grant,
            "frozen": False,
        }
    ]


async def test_the_daily_bonus_pays_once_a_day_even_under_concurrency(
    client: Client, resources: Resources, settings: Settings
) -> None:
    _, _, channel_id = await _owned_channel(client)
    viewer_id, viewer = await _signed_in(client)
    url = f"/api/v1/channels/{channel_id}"

    stranger = await client.post(f"{url}/daily-bonus", headers=viewer)
    assert stranger.status_code == 403
    assert _code(stranger) == "not_a_member"

    await client.post(f"{url}/join", headers=viewer)
    claims = await asyncio.gather(
        *(client.post(f"{url}/daily-bonus", headers=viewer) for _ in range(10))
    )
    assert sorted(r.status_code for r in claims) == [200] + [409] * 9
    refused = [r.json()["error"] for r in claims if r.status_code == 409]
    assert {e["code"] for e in refused} == {"daily_bonus_not_ready"}
    assert all(e["details"]["next_at"] for e in refused)

    expected = settings.points_signup_grant + settings.points_daily_bonus
    me = (await client.get(f"{url}/members/me", headers=viewer)).json()
    assert me["balance"] == expected
    assert me["next_bonus_at"] is not None

    # 25 hours later the bonus can be claimed again, once.
    async with unit_of_work(resources) as session:
        await session.execute(
            text(
                "UPDATE channel_members SET last_bonus_at = last_bonus_at - interval '25 hours'"
                " WHERE channel_id = :c AND user_id = :u"
            ),
            {"c": channel_id, "u": viewer_id},
        )
    assert (await client.get(f"{url}/members/me", headers=viewer)).json()["next_bonus_at"] is None
    later = await client.post(f"{url}/daily-bonus", headers=viewer)
    assert later.status_code == 200
    assert later.json()["balance"] == expected + settings.points_daily_bonus
    too_soon = await client.post(f"{url}/daily-bonus", headers=viewer)
    assert too_soon.status_code == 409


async def _grant(
    client: Client, channel_id: int, auth: Auth, body: dict[str, Any], key: str | None
) -> httpx.Response:
    headers = {**auth, "Idempotency-Key": key} if key is not None else auth
    return await client.post(f"/api/v1/channels/{channel_id}/grants", json=body, headers=headers)


async def _points(client: Client, channel_id: int, auth: Auth) -> int:
    response = await client.get(f"/api/v1/channels/{channel_id}/members/me", headers=auth)
    return int(response.json()["balance"])


async def test_staff_grants_are_capped_audited_and_idempotent(
    client: Client, resources: Resources, settings: Settings
) -> None:
    owner_id, owner, channel_id = await _owned_channel(client)
    moderator_id, moderator = await _signed_in(client)
    await _add_moderator(client, channel_id, owner, moderator_id)
    viewer_id, viewer = await _signed_in(client)
    await client.post(f"/api/v1/channels/{channel_id}/join", headers=viewer)
    body = {"user_id": viewer_id, "amount": 250, "reason": "won the raffle"}

    first = await _grant(client, channel_id, moderator, body, "raffle-1")
    assert first.status_code == 201
    assert first.json()["amount"] == 250
    again = await _grant(client, channel_id, moderator, body, "raffle-1")
    assert again.status_code == 201
    assert again.json() == first.json()
    assert await _points(client, channel_id, viewer) == settings.points_signup_grant + 250

    reused = await _grant(client, channel_id, moderator, {**body, "amount": 300}, "raffle-1")
    assert reused.status_code == 409
    assert _code(reused) == "idempotency_key_reused"
    other_reason = await _grant(client, channel_id, moderator, {**body, "reason": "x"}, "raffle-1")
    assert _code(other_reason) == "idempotency_key_reused"

    # The same key from another member of staff is another grant.
    by_owner = await _grant(client, channel_id, owner, body, "raffle-1")
    assert by_owner.status_code == 201
    assert by_owner.json()["transaction_id"] != first.json()["transaction_id"]

    # Concurrent retries of one new grant pay once.
    retries = await asyncio.gather(
        *(_grant(client, channel_id, owner, {**body, "amount": 5}, "burst") for _ in range(6))
    )
    assert {r.status_code for r in retries} == {201}
    assert len({r.json()["transaction_id"] for r in retries}) == 1

    capped = await _grant(
        client, channel_id, owner, {**body, "amount": settings.points_max_grant + 1}, "cap"
    )
    assert capped.status_code == 422
    assert capped.json()["error"]["details"]["field"] == "amount"
    at_cap = await _grant(
        client, channel_id, owner, {**body, "amount": settings.points_max_grant}, "cap"
    )
    assert at_cap.status_code == 201

    assert await _points(client, channel_id, viewer) == (
        settings.points_signup_grant + 250 + 250 + 5 + settings.points_max_grant
    )
    grants = [
        (actor, details["amount"], details["reason"])
        for actor, action, details in await _audit(resources, channel_id)
        if action == "points_granted"
    ]
    assert grants == [
        (moderator_id, 250, "won the raffle"),
        (owner_id, 250, "won the raffle"),
        (owner_id, 5, "won the raffle"),
        (owner_id, settings.points_max_grant, "won the raffle"),
    ]


async def test_bad_grants_are_refused_and_move_nothing(
    client: Client, resources: Resources
) -> None:
    _, owner, channel_id = await _owned_channel(client)
    viewer_id, viewer = await _signed_in(client)
    await client.post(f"/api/v1/channels/{channel_id}/join", headers=viewer)
    balance = await _points(client, channel_id, viewer)
    good: dict[str, Any] = {"user_id": viewer_id, "amount": 10, "reason": "thanks"}

    no_key = await _grant(client, channel_id, owner, good, None)
    assert no_key.status_code == 400
    assert _code(no_key) == "idempotency_key_required"
    blank_key = await _grant(client, channel_id, owner, good, "")
    assert _code(blank_key) == "idempotency_key_required"
    too_long = await _grant(client, channel_id, owner, good, "k" * 256)
    assert too_long.status_code == 422
    assert "idempotency_key" in too_long.json()["error"]["message"]

    for amount in ["100", 0, -5, 1.5, True, None, 2**63]:
        response = await _grant(client, channel_id, owner, {**good, "amount": amount}, "bad")
        assert response.status_code == 422, amount
        assert "amount" in response.json()["error"]["message"], amount
    bad_bodies: list[dict[str, Any]] = [
        {**good, "reason": ""},
        {**good, "reason": "r" * 201},
        {**good, "note": "extra"},
        {"user_id": viewer_id, "amount": 10},
    ]
    for body in bad_bodies:
        assert (await _grant(client, channel_id, owner, body, "bad")).status_code == 422, body

    unknown = await _grant(client, channel_id, owner, {**good, "user_id": 999999}, "ghost")
    assert unknown.status_code == 404
    assert _code(unknown) == "user_not_found"
    self_served = await _grant(client, channel_id, viewer, good, "mine")
    assert self_served.status_code == 403

    assert await _points(client, channel_id, viewer) == balance
    actions = [action for _, action, _ in await _audit(resources, channel_id)]
    assert "points_granted" not in actions


async def test_the_longest_idempotency_key_works_like_any_other(
    client: Client, resources: Resources, settings: Settings
) -> None:
    _, owner, channel_id = await _owned_channel(client)
    viewer_id, viewer = await _signed_in(client)
    await client.post(f"/api/v1/channels/{channel_id}/join", headers=viewer)
    body = {"user_id": viewer_id, "amount": 40, "reason": "long key"}
    key = "k" * 255

    first = await _grant(client, channel_id, owner, body, key)
    again = await _grant(client, channel_id, owner, body, key)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    other = await _grant(client, channel_id, owner, {**body, "amount": 41}, key)
    assert _code(other) == "idempotency_key_reused"
    assert await _points(client, channel_id, viewer) == settings.points_signup_grant + 40
