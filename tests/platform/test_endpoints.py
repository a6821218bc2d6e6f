"""Sign in with Twitch over HTTP, against the fake Twitch: signing in or up, linking Twitch to an
account, a channel or the chat bot, and every way a callback is refused."""

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import msgspec
import pytest
from sqlalchemy import text

from app.asgi import create_app
from app.kit.currency import points
from app.kit.resources import Resources
from app.kit.uow import unit_of_work
from app.models.channel import Channel, Platform
from app.models.platform import TokenPurpose
from app.models.user import Role
from app.platform.oauth import (
    RECONCILE_SUBSCRIPTIONS_JOBS,
    STARTS_PER_ADDRESS,
    PendingSignIn,
    callback_path,
)
from app.platform.repository import platform_repository
from app.platform.service import platform_identity_service
from app.platform.tokens import platform_token_service
from app.settings import Settings
from tests.conftest import serve
from tests.factories import DEFAULT_PASSWORD, bearer, create_channel, create_user, register
from tests.fakes.twitch import FakeTwitch
from tests.platform.conftest import consent, sign_in_with_twitch, start

CALLBACK_PATH = callback_path(Platform.twitch)


@pytest.fixture
def settings(twitch_settings: Settings) -> Settings:
    return twitch_settings


async def _me(client: httpx.AsyncClient, token: str) -> dict[str, Any]:
    response = await client.get("/api/v1/me", headers=bearer(token))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _error(response: httpx.Response) -> str:
    code: str = response.json()["error"]["code"]
    return code


async def _person(client: httpx.AsyncClient) -> tuple[int, dict[str, str]]:
    body = await register(client)
    return int(body["user"]["id"]), bearer(body["access_token"])  # type: ignore[index]


async def _channel_of(resources: Resources, owner_id: int) -> int:
    async with unit_of_work(resources) as session:
        return (await create_channel(session, owner_id)).id


# -- signing in --------------------------------------------------------------------------------


async def test_sign_in_creates_an_account_then_signs_in_to_the_same_one(
    client: httpx.AsyncClient, fake_twitch: FakeTwitch
) -> None:
    fake_twitch.add_user("1001", "alice", "Alice")
    first = await sign_in_with_twitch(client, fake_twitch, "1001")
    assert first.status_code == 200, first.text
    assert first.headers["cache-control"] == "no-store"
    body = first.json()
    assert body["identity"] == {
        "platform": "twitch",
        "platform_user_id": "1001",
        "login": "alice",
        "display_name": "Alice",
    }
    me = await _me(client, body["session"]["access_token"])
    assert me["display_name"] == "Alice"

    # Renamed on Twitch: the same account, the identity follows the new names.
    fake_twitch.add_user("1001", "alice_plays", "AlicePlays")
    again = (await sign_in_with_twitch(client, fake_twitch, "1001")).json()
    assert again["session"]["user"]["id"] == body["session"]["user"]["id"]
    assert again["identity"]["login"] == "alice_plays"
    assert (await _me(client, again["session"]["access_token"]))["id"] == me["id"]


async def test_without_twitch_configured_sign_in_answers_503(
    database_url: str, redis_url: str
) -> None:
    app = create_app(Settings(database_url=database_url, redis_url=redis_url))
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as plain:
        started = await plain.post("/api/v1/auth/twitch/start", json={"purpose": "sign_in"})
        back = await plain.get(CALLBACK_PATH, params={"state": "x", "code": "y"})
    for response in (started, back):
        assert response.status_code == 503
        assert _error(response) == "twitch_not_configured"
        assert "STREAMPOOLS_TWITCH_CLIENT_ID" in response.json()["error"]["message"]


# -- linking an account ------------------------------------------------------------------------


async def test_link_to_a_signed_in_account_then_sign_in_with_twitch_reaches_it(
    client: httpx.AsyncClient, fake_twitch: FakeTwitch
) -> None:
    user_id, auth = await _person(client)
    fake_twitch.add_user("2002", "bob")
    linked = await sign_in_with_twitch(client, fake_twitch, "2002", "link_account", auth=auth)
    assert linked.status_code == 200, linked.text
    assert linked.json()["identity"]["login"] == "bob"
    assert linked.json()["session"] is None

    signed_in = (await sign_in_with_twitch(client, fake_twitch, "2002")).json()
    assert signed_in["session"]["user"]["id"] == user_id


async def test_linking_needs_a_signed_in_caller(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/auth/twitch/start", json={"purpose": "link_account"})
    assert response.status_code == 401
    assert _error(response) == "not_authenticated"


async def test_a_twitch_account_of_another_full_account_cannot_be_linked(
    client: httpx.AsyncClient, fake_twitch: FakeTwitch
) -> None:
    fake_twitch.add_user("3003", "carol")
    owner = (await sign_in_with_twitch(client, fake_twitch, "3003")).json()
    _, auth = await _person(client)
    response = await sign_in_with_twitch(client, fake_twitch, "3003", "link_account", auth=auth)
    assert response.status_code == 409
    assert _error(response) == "platform_identity_taken"
    # Still the first account's.
    again = (await sign_in_with_twitch(client, fake_twitch, "3003")).json()
    assert again["session"]["user"]["id"] == owner["session"]["user"]["id"]


async def test_linking_a_chat_only_viewer_merges_their_points_into_the_account(
    client: httpx.AsyncClient, fake_twitch: FakeTwitch, resources: Resources, settings: Settings
) -> None:
    owner_id, _ = await _person(client)
    channel_id = await _channel_of(resources, owner_id)
    async with unit_of_work(resources) as session:
        channel = await session.get_one(Channel, channel_id)
        await platform_identity_service.chatter(
            session, settings, channel, Platform.twitch, "4004", "dave", "Dave"
        )
    fake_twitch.add_user("4004", "dave", "Dave")
    user_id, auth = await _person(client)

    linked = await sign_in_with_twitch(client, fake_twitch, "4004", "link_account", auth=auth)
    assert linked.status_code == 200, linked.text
    wallets = (await client.get("/api/v1/me/wallets", headers=auth)).json()["wallets"]
    balances = {w["currency"]: int(w["balance"]) for w in wallets}
    assert balances[points(channel_id)] == settings.points_signup_grant
    signed_in = (await sign_in_with_twitch(client, fake_twitch, "4004")).json()
    assert signed_in["session"]["user"]["id"] == user_id


# -- linking a channel -------------------------------------------------------------------------


async def test_the_owner_links_their_channel_and_its_subscriptions_are_queued(
    client: httpx.AsyncClient,
    fake_twitch: FakeTwitch,
    resources: Resources,
    settings: Settings,
) -> None:
    owner_id, auth = await _person(client)
    channel_id = await _channel_of(resources, owner_id)
    fake_twitch.add_user("5005", "erin")
    response = await sign_in_with_twitch(
        client, fake_twitch, "5005", "link_channel", auth=auth, channel_id=channel_id
    )
    assert response.status_code == 200, response.text
    link = response.json()["link"]
    assert (link["platform"], link["external_id"], link["status"]) == ("twitch", "5005", "verified")
    channel = (await client.get(f"/api/v1/channels/{channel_id}")).json()
    assert [entry["status"] for entry in channel["links"]] == ["verified"]

    # The broadcaster's grant is kept, encrypted, with the scopes the features need.
    async with unit_of_work(resources) as session:
        stored = (
            await session.execute(text("SELECT access_token, scopes FROM platform_tokens"))
        ).one()
        account = (await platform_repository.accounts_of(session, owner_id))[0]
        access = await platform_token_service.access_token(
            session, settings, account.id, TokenPurpose.broadcaster
        )
    assert access in fake_twitch.tokens
    assert access not in stored.access_token
    assert set(stored.scopes) == {"channel:bot", "channel:manage:predictions"}

    queued = await resources.jobs.queued_jobs()
    assert [(job.function, list(job.args)) for job in queued] == [
        (RECONCILE_SUBSCRIPTIONS_JOBS[Platform.twitch], [channel_id])
    ]


async def test_only_the_channel_owner_may_link_it(
    client: httpx.AsyncClient, resources: Resources
) -> None:
    owner_id, _ = await _person(client)
    channel_id = await _channel_of(resources, owner_id)
    _, stranger = await _person(client)
    response = await client.post(
        "/api/v1/auth/twitch/start",
        json={"purpose": "link_channel", "channel_id": channel_id},
        headers=stranger,
    )
    assert response.status_code == 403
    assert _error(response) == "forbidden"
    missing = await client.post(
        "/api/v1/auth/twitch/start", json={"purpose": "link_channel"}, headers=stranger
    )
    assert missing.status_code == 422


async def test_a_channel_is_linked_only_with_its_owners_own_twitch_account(
    client: httpx.AsyncClient, fake_twitch: FakeTwitch, resources: Resources
) -> None:
    fake_twitch.add_user("6006", "frank")
    someone_else = (await sign_in_with_twitch(client, fake_twitch, "6006")).json()
    owner_id, auth = await _person(client)
    channel_id = await _channel_of(resources, owner_id)
    # The owner signs in at Twitch with an account that is another user's here.
    response = await sign_in_with_twitch(
        client, fake_twitch, "6006", "link_channel", auth=auth, channel_id=channel_id
    )
    assert response.status_code == 409
    assert _error(response) == "platform_identity_taken"
    assert (await client.get(f"/api/v1/channels/{channel_id}")).json()["links"] == []
    assert someone_else["session"] is not None
    assert await resources.jobs.queued_jobs() == []


# -- the chat bot ------------------------------------------------------------------------------


async def test_only_an_admin_links_the_chat_bot_which_gets_an_account_of_its_own(
    client: httpx.AsyncClient,
    fake_twitch: FakeTwitch,
    resources: Resources,
    settings: Settings,
) -> None:
    _, user = await _person(client)
    refused = await client.post("/api/v1/auth/twitch/start", json={"purpose": "bot"}, headers=user)
    assert refused.status_code == 403

    async with unit_of_work(resources) as session:
        admin = await create_user(session, settings, role=Role.admin)
    login = await client.post(
        "/api/v1/auth/login", json={"email": admin.email, "password": DEFAULT_PASSWORD}
    )
    admin_auth = bearer(login.json()["access_token"])
    fake_twitch.add_user("7007", "poolbot", "PoolBot")
    response = await sign_in_with_twitch(client, fake_twitch, "7007", "bot", auth=admin_auth)
    assert response.status_code == 200, response.text

    async with unit_of_work(resources) as session:
        bot = await platform_token_service.bot(session, settings, Platform.twitch)
    assert bot is not None
    account, access = bot
    assert account.login == "poolbot"
    assert account.user_id != admin.id  # signing in to Twitch as the bot is not the admin
    assert fake_twitch.tokens[access].scopes == ["user:read:chat", "user:write:chat", "user:bot"]


# -- refused callbacks -------------------------------------------------------------------------


async def test_a_state_is_used_once(client: httpx.AsyncClient, fake_twitch: FakeTwitch) -> None:
    fake_twitch.add_user("8008", "gina")
    started = await start(client, "sign_in")
    query = await consent(fake_twitch, started["authorize_url"], "8008")
    assert (await client.get(CALLBACK_PATH, params=query)).status_code == 200
    replay = await client.get(CALLBACK_PATH, params=query)
    assert replay.status_code == 400
    assert _error(replay) == "oauth_state_invalid"


async def test_an_unknown_or_expired_state_is_refused(
    client: httpx.AsyncClient, fake_twitch: FakeTwitch, resources: Resources
) -> None:
    fake_twitch.add_user("9009", "hank")
    started = await start(client, "sign_in")
    key = f"oauth:twitch:state:{started['state']}"
    assert 0 < await resources.redis.ttl(key) <= 600
    query = await consent(fake_twitch, started["authorize_url"], "9009")
    await resources.redis.delete(key)  # what its ten minutes running out does
    expired = await client.get(CALLBACK_PATH, params=query)
    forged = await client.get(CALLBACK_PATH, params={**query, "state": "made-up-state"})
    nothing = await client.get(CALLBACK_PATH, params={"code": query["code"]})
    for response in (expired, forged, nothing):
        assert response.status_code == 400
        assert _error(response) == "oauth_state_invalid"


async def test_a_callback_carried_to_another_browser_is_refused(
    client: httpx.AsyncClient, fake_twitch: FakeTwitch, live_server: Any
) -> None:
    # Someone starts linking Twitch to their account and has a victim finish it: the victim's
    # Twitch account would end up on the attacker's account.
    fake_twitch.add_user("1010", "victim")
    _, attacker = await _person(client)
    started = await start(client, "link_account", auth=attacker)
    query = await consent(fake_twitch, started["authorize_url"], "1010")
    async with httpx.AsyncClient(base_url=live_server.url) as victims_browser:
        response = await victims_browser.get(CALLBACK_PATH, params=query)
    assert response.status_code == 400
    assert _error(response) == "oauth_state_invalid"


async def test_the_code_is_exchanged_with_the_pkce_verifier_of_its_start(
    client: httpx.AsyncClient, fake_twitch: FakeTwitch, resources: Resources
) -> None:
    fake_twitch.add_user("1111", "ivy")
    started = await start(client, "sign_in")
    assert "code_challenge_method=S256" in started["authorize_url"]
    query = await consent(fake_twitch, started["authorize_url"], "1111")
    key = f"oauth:twitch:state:{started['state']}"
    pending = msgspec.json.decode(await resources.redis.get(key), type=PendingSignIn)
    forged = msgspec.structs.replace(pending, code_verifier="x" * 43)
    await resources.redis.set(key, msgspec.json.encode(forged), ex=60)
    response = await client.get(CALLBACK_PATH, params=query)
    assert response.status_code == 400
    assert _error(response) == "oauth_code_refused"


async def test_a_declined_consent_gets_a_clear_answer(
    client: httpx.AsyncClient, fake_twitch: FakeTwitch
) -> None:
    started = await start(client, "sign_in")
    denied = {
        "error": "access_denied",
        "error_description": "The user denied you access",
        "state": started["state"],
    }
    response = await client.get(CALLBACK_PATH, params=denied)
    assert response.status_code == 400
    assert _error(response) == "oauth_denied"

    # A browser sign-in goes back to its page, told why.
    started = await start(client, "sign_in", return_to="/welcome")
    response = await client.get(CALLBACK_PATH, params={**denied, "state": started["state"]})
    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert (location.scheme, location.netloc, location.path) == (
        "http",
        "127.0.0.1:8000",
        "/welcome",
    )
    assert dict(parse_qsl(location.fragment))["error"] == "oauth_denied"
    assert fake_twitch.requests == []  # no code exchanged


# -- the browser's way back --------------------------------------------------------------------


async def test_a_browser_sign_in_goes_back_to_its_page_with_the_session_in_the_fragment(
    client: httpx.AsyncClient, fake_twitch: FakeTwitch
) -> None:
    fake_twitch.add_user("1212", "jude")
    response = await sign_in_with_twitch(
        client, fake_twitch, "1212", return_to="http://127.0.0.1:8000/lobby?tab=pools#old"
    )
    assert response.status_code == 303, response.text
    location = urlsplit(response.headers["location"])
    assert (location.netloc, location.path, location.query) == (
        "127.0.0.1:8000",
        "/lobby",
        "tab=pools",
    )
    fragment = dict(parse_qsl(location.fragment))
    assert fragment["purpose"] == "sign_in"
    assert (await _me(client, fragment["access_token"]))["display_name"] == "Jude"


@pytest.mark.parametrize(
    "return_to",
    [
        "https://evil.example/phish",
        "//evil.example/phish",
        "/\\evil.example",
        "javascript:alert(1)",
        "http://127.0.0.1:8000@evil.example/",
        "welcome",
    ],
)
async def test_an_open_redirect_is_refused(client: httpx.AsyncClient, return_to: str) -> None:
    response = await client.post(
        "/api/v1/auth/twitch/start", json={"purpose": "sign_in", "return_to": return_to}
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"]["field"] == "return_to"


async def test_a_failed_link_goes_back_to_its_page_and_changes_nothing(
    client: httpx.AsyncClient, fake_twitch: FakeTwitch, resources: Resources
) -> None:
    fake_twitch.add_user("1313", "kim")
    await sign_in_with_twitch(client, fake_twitch, "1313")
    owner_id, auth = await _person(client)
    channel_id = await _channel_of(resources, owner_id)
    response = await sign_in_with_twitch(
        client,
        fake_twitch,
        "1313",
        "link_channel",
        auth=auth,
        channel_id=channel_id,
        return_to="/dashboard",
    )
    assert response.status_code == 303
    fragment = dict(parse_qsl(urlsplit(response.headers["location"]).fragment))
    assert fragment["error"] == "platform_identity_taken"
    assert fragment["purpose"] == "link_channel"
    async with unit_of_work(resources) as session:
        tokens = (await session.execute(text("SELECT count(*) FROM platform_tokens"))).scalar()
    assert tokens == 0


async def test_starts_are_limited_per_client_address(client: httpx.AsyncClient) -> None:
    for _ in range(STARTS_PER_ADDRESS):
        await start(client, "sign_in")
    response = await client.post("/api/v1/auth/twitch/start", json={"purpose": "sign_in"})
    assert response.status_code == 429
    assert "Retry-After" in response.headers


async def test_a_link_that_needs_a_relink_works_again_once_its_owner_links_again(
    client: httpx.AsyncClient,
    fake_twitch: FakeTwitch,
    resources: Resources,
    settings: Settings,
) -> None:
    owner_id, auth = await _person(client)
    channel_id = await _channel_of(resources, owner_id)
    fake_twitch.add_user("5005", "erin")
    first = await sign_in_with_twitch(
        client, fake_twitch, "5005", "link_channel", auth=auth, channel_id=channel_id
    )
    assert first.status_code == 200, first.text
    async with unit_of_work(resources) as session:
        account = (await platform_repository.accounts_of(session, owner_id))[0]
        assert await platform_token_service.mark_needs_relink(
            session, account.id, TokenPurpose.broadcaster, "authorization_revoked"
        )
    channel = (await client.get(f"/api/v1/channels/{channel_id}")).json()
    assert [entry["status"] for entry in channel["links"]] == ["needs_relink"]

    again = await sign_in_with_twitch(
        client, fake_twitch, "5005", "link_channel", auth=auth, channel_id=channel_id
    )
    assert again.status_code == 200, again.text
    channel = (await client.get(f"/api/v1/channels/{channel_id}")).json()
    assert [entry["status"] for entry in channel["links"]] == ["verified"]
    async with unit_of_work(resources) as session:
        access = await platform_token_service.access_token(
            session, settings, account.id, TokenPurpose.broadcaster
        )
    assert access is not None and not fake_twitch.tokens[access].revoked
