"""What the dashboard reads about platforms: which ones this server has an app for
(``GET /api/v1/platforms``, public), and a channel's links as its owner sees them
(``GET /api/v1/channels/{id}/links``): who proved each, and YouTube chat betting paused while
the day's shared quota leaves no chat poll."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from app.asgi import create_app
from app.kit.resources import Resources
from app.kit.uow import unit_of_work
from app.models.channel import ChannelLink, LinkStatus, Platform
from app.settings import Settings
from app.stream.youtube_quota import PACIFIC, QuotaPlanner, next_reset
from tests.conftest import serve
from tests.factories import add_moderator, bearer, create_channel, create_platform_account, register
from tests.fakes.kick import FakeKick
from tests.fakes.youtube import FakeYouTube
from tests.platform.conftest import sign_in_with_twitch as sign_in_with


@pytest.fixture
def settings(
    database_url: str, redis_url: str, fake_kick: FakeKick, fake_youtube: FakeYouTube
) -> Settings:
    """Kick's and YouTube's apps configured, Twitch's not."""
    return fake_kick.settings(
        database_url,
        redis_url,
        youtube_client_id=fake_youtube.client_id,
        youtube_client_secret=fake_youtube.client_secret,
        google_oauth_base=fake_youtube.url,
        google_accounts_base=fake_youtube.url,
        youtube_api_base=fake_youtube.api_url,
    )


async def _person(client: httpx.AsyncClient) -> tuple[int, dict[str, str]]:
    body = await register(client)
    return int(body["user"]["id"]), bearer(body["access_token"])  # type: ignore[index]


async def _links(
    client: httpx.AsyncClient, channel_id: int, auth: dict[str, str]
) -> list[dict[str, Any]]:
    response = await client.get(f"/api/v1/channels/{channel_id}/links", headers=auth)
    assert response.status_code == 200, response.text
    assert response.json()["channel_id"] == channel_id
    links: list[dict[str, Any]] = response.json()["links"]
    return links


async def _youtube_link(resources: Resources, channel_id: int, owner_id: int) -> int:
    """A verified YouTube link, as Google sign-in makes it."""
    async with unit_of_work(resources) as session:
        account = await create_platform_account(
            session, owner_id, platform="youtube", platform_user_id="UCAda1337", login="ada"
        )
        link = ChannelLink(
            channel_id=channel_id,
            platform=Platform.youtube,
            external_id="UCAda1337",
            status=LinkStatus.verified,
            platform_account_id=account.id,
        )
        session.add(link)
        await session.flush()
        return link.id


async def test_the_platforms_say_which_apps_this_server_has(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/platforms")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "platforms": [
            {"platform": "twitch", "name": "Twitch", "configured": False},
            {"platform": "kick", "name": "Kick", "configured": True},
            {"platform": "youtube", "name": "YouTube", "configured": True},
        ]
    }


async def test_no_platform_is_configured_by_default(database_url: str, redis_url: str) -> None:
    app = create_app(Settings(database_url=database_url, redis_url=redis_url))
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as client:
        response = await client.get("/api/v1/platforms")
    assert response.status_code == 200, response.text
    assert [(p["platform"], p["configured"]) for p in response.json()["platforms"]] == [
        ("twitch", False),
        ("kick", False),
        ("youtube", False),
    ]


async def test_the_owner_sees_who_proved_each_link(
    client: httpx.AsyncClient, resources: Resources, fake_kick: FakeKick
) -> None:
    owner_id, owner = await _person(client)
    async with unit_of_work(resources) as session:
        channel_id = (await create_channel(session, owner_id)).id
    assert await _links(client, channel_id, owner) == []

    fake_kick.add_user("5005", "Erin")
    linked = await sign_in_with(
        client,
        fake_kick,
        "5005",
        "link_channel",
        auth=owner,
        platform=Platform.kick,
        channel_id=channel_id,
    )
    assert linked.status_code == 200, linked.text
    declared = await client.post(
        f"/api/v1/channels/{channel_id}/links",
        json={"platform": "youtube", "external_id": "UCsomeoneelse"},
        headers=owner,
    )
    assert declared.status_code == 201, declared.text

    kick, youtube = await _links(client, channel_id, owner)
    assert kick == {
        "id": linked.json()["link"]["id"],
        "platform": "kick",
        "external_id": "5005",
        "verified": True,
        "status": "verified",
        "login": "erin",
        "display_name": "Erin",
        "quota_paused_until": None,
    }
    assert youtube == {
        "id": declared.json()["id"],
        "platform": "youtube",
        "external_id": "UCsomeoneelse",
        "verified": False,
        "status": "unverified",
        "login": None,
        "display_name": None,
        "quota_paused_until": None,
    }

    # A token refresh refused: the link needs its owner to sign in with Kick again.
    async with unit_of_work(resources) as session:
        stored = await session.get(ChannelLink, kick["id"])
        assert stored is not None
        stored.status = LinkStatus.needs_relink
    (kick, _) = await _links(client, channel_id, owner)
    assert (kick["status"], kick["verified"], kick["login"]) == ("needs_relink", True, "erin")


async def test_only_the_owner_reads_the_links(
    client: httpx.AsyncClient, resources: Resources
) -> None:
    owner_id, owner = await _person(client)
    moderator_id, moderator = await _person(client)
    _, stranger = await _person(client)
    async with unit_of_work(resources) as session:
        channel_id = (await create_channel(session, owner_id)).id
        await add_moderator(session, channel_id, moderator_id, by=owner_id)
    await _youtube_link(resources, channel_id, owner_id)

    assert len(await _links(client, channel_id, owner)) == 1
    for someone in (moderator, stranger):
        refused = await client.get(f"/api/v1/channels/{channel_id}/links", headers=someone)
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["code"] == "forbidden"
    anonymous = await client.get(f"/api/v1/channels/{channel_id}/links")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "not_authenticated"
    missing = await client.get(f"/api/v1/channels/{channel_id + 1000}/links", headers=owner)
    assert missing.status_code == 404
    # The public channel keeps showing its links, without who proved them.
    public = (await client.get(f"/api/v1/channels/{channel_id}")).json()["links"]
    assert [set(link) for link in public] == [
        {"id", "platform", "external_id", "verified", "status"}
    ]


async def test_youtube_chat_betting_paused_until_the_reset_when_the_quota_is_spent(
    client: httpx.AsyncClient, resources: Resources, settings: Settings
) -> None:
    owner_id, owner = await _person(client)
    async with unit_of_work(resources) as session:
        channel_id = (await create_channel(session, owner_id)).id
    await _youtube_link(resources, channel_id, owner_id)
    planner = QuotaPlanner(settings, resources.redis)
    now = datetime.now(UTC)

    (youtube,) = await _links(client, channel_id, owner)
    assert youtube["login"] == "ada"
    assert youtube["quota_paused_until"] is None

    # Polls spent all but one poll's units above the reserve kept for replies: still polling.
    polls_budget = settings.youtube_quota_units_per_day - settings.youtube_quota_reserve_units
    assert await planner.reserve(polls_budget - 5, now)
    (youtube,) = await _links(client, channel_id, owner)
    assert youtube["quota_paused_until"] is None

    # One more poll: what is left is the reserve, no chat poll until the reset.
    assert await planner.reserve_poll(5, now)
    (youtube,) = await _links(client, channel_id, owner)
    until = datetime.fromisoformat(youtube["quota_paused_until"])
    assert until == next_reset(now)
    pacific = until.astimezone(PACIFIC)
    assert (pacific.hour, pacific.minute) == (0, 0)
    assert timedelta(0) < until - now <= timedelta(hours=25)


async def test_youtube_chat_betting_paused_when_google_says_quota_exceeded(
    client: httpx.AsyncClient, resources: Resources, settings: Settings
) -> None:
    owner_id, owner = await _person(client)
    async with unit_of_work(resources) as session:
        channel_id = (await create_channel(session, owner_id)).id
    await _youtube_link(resources, channel_id, owner_id)
    declared = await client.post(
        f"/api/v1/channels/{channel_id}/links",
        json={"platform": "youtube", "external_id": "UCnotproven"},
        headers=owner,
    )
    assert declared.status_code == 201, declared.text
    now = datetime.now(UTC)
    await QuotaPlanner(settings, resources.redis).exhausted(now)

    verified, unverified = await _links(client, channel_id, owner)
    assert datetime.fromisoformat(verified["quota_paused_until"]) == next_reset(now)
    # An unverified link's chat is never read: nothing is paused there.
    assert unverified["quota_paused_until"] is None
