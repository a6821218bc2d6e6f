"""Sign in with Google for YouTube against the fake Google: the channel's owner (only) links it
through OAuth with PKCE and offline access, the channel proved by ``channels.list?mine=true``,
its grant kept encrypted and its live check queued; a Google account without a channel is
refused; a refresh keeps Google's refresh token."""

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import text

from app.kit.resources import Resources
from app.kit.uow import unit_of_work
from app.models.channel import Platform
from app.models.platform import TokenPurpose
from app.platform.repository import platform_repository
from app.platform.tasks import refresh_platform_tokens
from app.platform.tokens import platform_token_service
from app.settings import Settings
from app.stream.youtube_chat import live_chat
from tests.conftest import RunJobs
from tests.factories import bearer, create_channel, register
from tests.fakes.youtube import FakeYouTube
from tests.fakes.youtube.server import FORCE_SSL
from tests.platform.conftest import sign_in_with_twitch as sign_in_with
from tests.platform.conftest import start
from tests.stream import twitch as links

YOUTUBE = Platform.youtube
CHANNEL = "UCerin00000000000000000e"


@pytest.fixture
def settings(youtube_settings: Settings) -> Settings:
    return youtube_settings


async def _owner_and_channel(
    client: httpx.AsyncClient, resources: Resources
) -> tuple[int, dict[str, str], int]:
    body = await register(client)
    owner_id = int(body["user"]["id"])  # type: ignore[index]
    async with unit_of_work(resources) as session:
        channel = await create_channel(session, owner_id)
    return owner_id, bearer(str(body["access_token"])), channel.id


async def test_the_owner_links_their_youtube_channel_and_its_live_check_runs(
    client: httpx.AsyncClient,
    fake_youtube: FakeYouTube,
    resources: Resources,
    settings: Settings,
    run_jobs: RunJobs,
) -> None:
    owner_id, auth, channel_id = await _owner_and_channel(client, resources)
    fake_youtube.add_user(CHANNEL, "Erin")
    started = await start(
        client, "link_channel", auth=auth, platform=YOUTUBE, channel_id=channel_id
    )
    query = parse_qs(urlsplit(started["authorize_url"]).query)
    assert urlsplit(started["authorize_url"]).path == "/o/oauth2/v2/auth"
    assert query["scope"] == [FORCE_SSL]
    assert query["access_type"] == ["offline"] and query["prompt"] == ["consent"]
    assert query["code_challenge_method"] == ["S256"] and query["state"]

    response = await sign_in_with(
        client,
        fake_youtube,
        CHANNEL,
        "link_channel",
        auth=auth,
        platform=YOUTUBE,
        channel_id=channel_id,
    )
    assert response.status_code == 200, response.text
    link = response.json()["link"]
    assert (link["platform"], link["external_id"], link["status"]) == (
        "youtube",
        CHANNEL,
        "verified",
    )
    assert response.json()["identity"]["display_name"] == "Erin"
    async with unit_of_work(resources) as session:
        stored = (
            await session.execute(text("SELECT access_token, scopes FROM platform_tokens"))
        ).one()
        account = (await platform_repository.accounts_of(session, owner_id))[0]
        access = await platform_token_service.access_token(
            session, settings, account.id, TokenPurpose.broadcaster
        )
    assert access in fake_youtube.oauth.tokens
    assert access not in stored.access_token  # encrypted at rest
    assert list(stored.scopes) == [FORCE_SSL]

    fake_youtube.go_live(CHANNEL)
    await run_jobs()  # the live check the link queued
    chat = await live_chat(resources.redis, CHANNEL)
    assert chat is not None and chat.channel_id == channel_id


async def test_only_the_channels_owner_may_link_it(
    client: httpx.AsyncClient, resources: Resources, fake_youtube: FakeYouTube
) -> None:
    _, _, channel_id = await _owner_and_channel(client, resources)
    _, stranger, _ = await _owner_and_channel(client, resources)
    refused = await client.post(
        "/api/v1/auth/youtube/start",
        json={"purpose": "link_channel", "channel_id": channel_id},
        headers=stranger,
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"


async def test_a_google_account_without_a_channel_links_nothing(
    client: httpx.AsyncClient, resources: Resources, fake_youtube: FakeYouTube
) -> None:
    _, auth, channel_id = await _owner_and_channel(client, resources)
    fake_youtube.add_user("google-only-account", "Nobody", channel=False)
    response = await sign_in_with(
        client,
        fake_youtube,
        "google-only-account",
        "link_channel",
        auth=auth,
        platform=YOUTUBE,
        channel_id=channel_id,
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "youtube_channel_missing"
    async with unit_of_work(resources) as session:
        links_made = await session.scalar(text("SELECT count(*) FROM channel_links"))
    assert links_made == 0


async def test_signing_in_with_google_makes_an_account_then_finds_it(
    client: httpx.AsyncClient, fake_youtube: FakeYouTube
) -> None:
    fake_youtube.add_user("UCalice0000000000000000a", "Alice")
    first = await sign_in_with(client, fake_youtube, "UCalice0000000000000000a", platform=YOUTUBE)
    again = await sign_in_with(client, fake_youtube, "UCalice0000000000000000a", platform=YOUTUBE)
    assert first.status_code == 200, first.text
    assert first.json()["identity"] == {
        "platform": "youtube",
        "platform_user_id": "UCalice0000000000000000a",
        "login": "alice",
        "display_name": "Alice",
    }
    assert first.json()["session"]["user"]["id"] == again.json()["session"]["user"]["id"]


async def test_a_refresh_keeps_googles_refresh_token(
    resources: Resources, settings: Settings, fake_youtube: FakeYouTube
) -> None:
    linked = await links.link_channel(
        resources, settings, fake_youtube, CHANNEL, platform="youtube", scopes=[FORCE_SSL]
    )
    for _ in range(2):  # the same refresh token works again: Google keeps it
        async with unit_of_work(resources) as session:
            await session.execute(
                text("UPDATE platform_tokens SET expires_at = :at"),
                {"at": datetime.now(UTC) + timedelta(minutes=5)},
            )
        assert await refresh_platform_tokens({"resources": resources}) == 1
    async with unit_of_work(resources) as session:
        access = await platform_token_service.access_token(
            session, settings, linked.account_id, TokenPurpose.broadcaster
        )
    assert access is not None and access != linked.access_token
    assert fake_youtube.oauth.tokens[access].usable
