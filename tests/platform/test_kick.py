"""Kick sign-in and tokens against the fake Kick: the channel's owner (only) links it through
OAuth with PKCE, its grant is kept encrypted and its subscriptions made; tokens about to expire
are refreshed by the cron (Kick hands out a new refresh token each time, stored with the access
token), and a refused refresh marks the link needs_relink."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import text

from app.kit.resources import Resources
from app.kit.uow import unit_of_work
from app.models.automation import AutomationKind, AutomationRule
from app.models.channel import Channel, Platform
from app.models.platform import TokenPurpose
from app.models.pool import PoolTemplate
from app.platform.repository import platform_repository
from app.platform.tasks import refresh_platform_tokens
from app.platform.tokens import platform_token_service
from app.settings import Settings
from app.stream.tasks import reconcile_kick_subscriptions
from tests.conftest import RunJobs
from tests.factories import bearer, create_channel, register
from tests.fakes.kick import FakeKick
from tests.platform.conftest import sign_in_with_twitch as sign_in_with
from tests.stream import twitch as links

KICK = Platform.kick


@pytest.fixture
def settings(kick_settings: Settings) -> Settings:
    return kick_settings


async def _owner_and_channel(
    client: httpx.AsyncClient, resources: Resources
) -> tuple[int, dict[str, str], int]:
    body = await register(client)
    owner_id = int(body["user"]["id"])  # type: ignore[index]
    async with unit_of_work(resources) as session:
        channel = await create_channel(session, owner_id)
    return owner_id, bearer(str(body["access_token"])), channel.id


async def test_the_owner_links_their_kick_channel_and_its_subscriptions_are_made(
    client: httpx.AsyncClient,
    fake_kick: FakeKick,
    resources: Resources,
    settings: Settings,
    run_jobs: RunJobs,
) -> None:
    owner_id, auth, channel_id = await _owner_and_channel(client, resources)
    fake_kick.add_user("5005", "Erin")
    response = await sign_in_with(
        client, fake_kick, "5005", "link_channel", auth=auth, platform=KICK, channel_id=channel_id
    )
    assert response.status_code == 200, response.text
    link = response.json()["link"]
    assert (link["platform"], link["external_id"], link["status"]) == ("kick", "5005", "verified")
    assert response.json()["identity"]["login"] == "erin"

    async with unit_of_work(resources) as session:
        stored = (
            await session.execute(text("SELECT access_token, scopes FROM platform_tokens"))
        ).one()
        account = (await platform_repository.accounts_of(session, owner_id))[0]
        access = await platform_token_service.access_token(
            session, settings, account.id, TokenPurpose.broadcaster
        )
    assert access in fake_kick.oauth.tokens
    assert access not in stored.access_token  # encrypted at rest
    assert set(stored.scopes) == {"user:read", "channel:read", "events:subscribe"}

    await run_jobs()  # the reconcile the link queued
    assert {(s["broadcaster_user_id"], s["event"]) for s in fake_kick.subscriptions.values()} == {
        (5005, "livestream.status.updated"),
        (5005, "chat.message.sent"),
    }


async def test_only_the_channels_owner_may_link_it(
    client: httpx.AsyncClient, resources: Resources, fake_kick: FakeKick
) -> None:
    _, _, channel_id = await _owner_and_channel(client, resources)
    _, stranger, _ = await _owner_and_channel(client, resources)
    refused = await client.post(
        "/api/v1/auth/kick/start",
        json={"purpose": "link_channel", "channel_id": channel_id},
        headers=stranger,
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"


async def test_signing_in_with_kick_makes_an_account_then_finds_it(
    client: httpx.AsyncClient, fake_kick: FakeKick
) -> None:
    fake_kick.add_user("1001", "Alice")
    first = await sign_in_with(client, fake_kick, "1001", platform=KICK)
    again = await sign_in_with(client, fake_kick, "1001", platform=KICK)
    assert first.status_code == 200, first.text
    assert first.json()["identity"] == {
        "platform": "kick",
        "platform_user_id": "1001",
        "login": "alice",
        "display_name": "Alice",
    }
    assert first.json()["session"]["user"]["id"] == again.json()["session"]["user"]["id"]


# -- tokens ----------------------------------------------------------------------------------------


async def test_a_kick_token_about_to_expire_is_refreshed_with_its_new_refresh_token(
    resources: Resources, settings: Settings, fake_kick: FakeKick
) -> None:
    linked = await links.link_channel(resources, settings, fake_kick, "5005", platform="kick")
    old = fake_kick.oauth.tokens[linked.access_token]
    await _expire_soon(resources)

    assert await refresh_platform_tokens({"resources": resources}) == 1
    async with unit_of_work(resources) as session:
        access = await platform_token_service.access_token(
            session, settings, linked.account_id, TokenPurpose.broadcaster
        )
        token = await platform_repository.token(
            session, linked.account_id, TokenPurpose.broadcaster
        )
    assert access is not None and access != linked.access_token
    assert old.revoked and old.refresh_token not in fake_kick.oauth.refresh_tokens
    # The new refresh token was stored with the new access token: the next refresh works.
    assert token is not None and token.version == 2
    await _expire_soon(resources)
    assert await refresh_platform_tokens({"resources": resources}) == 1


async def test_a_refused_kick_refresh_marks_the_link_needs_relink(
    resources: Resources, settings: Settings, fake_kick: FakeKick
) -> None:
    linked = await links.link_channel(resources, settings, fake_kick, "5005", platform="kick")
    fake_kick.revoke(linked.access_token)  # the streamer disconnected the app at Kick
    await _expire_soon(resources)

    assert await refresh_platform_tokens({"resources": resources}) == 0
    assert await links.link_status(resources, linked.channel_id) == "needs_relink"
    async with unit_of_work(resources) as session:
        access = await platform_token_service.access_token(
            session, settings, linked.account_id, TokenPurpose.broadcaster
        )
    assert access is None


async def _expire_soon(resources: Resources) -> None:
    async with unit_of_work(resources) as session:
        await session.execute(
            text("UPDATE platform_tokens SET expires_at = :at"),
            {"at": datetime.now(UTC) + timedelta(minutes=5)},
        )


# -- subscriptions -------------------------------------------------------------------------------


async def test_the_reconcile_makes_missing_subscriptions_and_deletes_orphans(
    resources: Resources, settings: Settings, fake_kick: FakeKick
) -> None:
    await links.link_channel(resources, settings, fake_kick, "5005", platform="kick")
    app = fake_kick.issue_token(None)
    orphan: dict[str, object] = {
        "id": "01ORPHAN",
        "app_id": fake_kick.client_id,
        "broadcaster_user_id": 9999,
        "event": "chat.message.sent",
        "version": 1,
        "method": "webhook",
    }
    fake_kick.subscriptions["01ORPHAN"] = orphan
    assert app.user_id is None

    first = await reconcile_kick_subscriptions({"resources": resources})
    assert (first["created"], first["deleted"]) == (2, 1)
    assert {(s["broadcaster_user_id"], s["event"]) for s in fake_kick.subscriptions.values()} == {
        (5005, "livestream.status.updated"),
        (5005, "chat.message.sent"),
    }
    again = await reconcile_kick_subscriptions({"resources": resources})
    assert (again["created"], again["deleted"], again["existing"]) == (0, 0, 2)


async def test_a_start_the_webhook_missed_is_caught_from_the_live_state(
    client: httpx.AsyncClient, resources: Resources, settings: Settings, fake_kick: FakeKick
) -> None:
    linked = await links.link_channel(resources, settings, fake_kick, "5005", platform="kick")
    async with unit_of_work(resources) as session:
        channel = await session.get(Channel, linked.channel_id)
        assert channel is not None
        template = PoolTemplate(
            channel_id=channel.id,
            name="first-try",
            title="Boss first try?",
            outcomes=["Yes", "No"],
            currency_kind="points",
            window_seconds=600,
            min_stake=10,
            max_stake=5_000,
        )
        session.add(template)
        await session.flush()
        session.add(
            AutomationRule(
                channel_id=channel.id,
                kind=AutomationKind.stream_online,
                template_id=template.id,
                created_by=channel.owner_id,
            )
        )
    fake_kick.go_live("5005")  # and its webhook never arrived

    for _ in range(2):  # the cron runs again: the stream is known live now, nothing more
        await reconcile_kick_subscriptions({"resources": resources})
    pools = (await client.get(f"/api/v1/channels/{linked.channel_id}/pools")).json()["pools"]
    assert [(p["title"], p["status"]) for p in pools] == [("Boss first try?", "open")]
