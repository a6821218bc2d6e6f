"""The token refresh cron against the fake Twitch: tokens about to expire are refreshed once,
a revoked one marks the channel link needs_relink and tells the streamer."""

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from app.channel.service import channel_service
from app.kit.resources import Resources
from app.kit.uow import unit_of_work
from app.models.platform import TokenPurpose
from app.platform.schemas import TokenSet
from app.platform.tasks import refresh_platform_tokens
from app.platform.tokens import platform_token_service
from app.settings import Settings
from integrations.twitch.oauth import TwitchOAuth
from tests.factories import create_channel, create_platform_account, create_user
from tests.fakes.twitch import FakeTwitch, Token


@pytest.fixture
def settings(twitch_settings: Settings) -> Settings:
    return twitch_settings


@dataclasses.dataclass
class Linked:
    owner_id: int
    channel_id: int
    token: Token


async def _linked_channel(
    resources: Resources,
    settings: Settings,
    fake: FakeTwitch,
    expires_in: timedelta,
    twitch_id: str = "5005",
    login: str = "erin",
) -> Linked:
    """A channel linked to its owner's Twitch account, with a grant from the fake Twitch."""
    fake.add_user(twitch_id, login)
    token = fake.issue_token(twitch_id, ["channel:bot", "channel:manage:predictions"])
    assert token.refresh_token is not None
    async with unit_of_work(resources) as session:
        owner = await create_user(session, settings)
        channel = await create_channel(session, owner.id)
        account = await create_platform_account(
            session, owner.id, platform_user_id=twitch_id, login=login
        )
        await channel_service.link_verified(session, channel, account)
        await platform_token_service.store(
            session,
            settings,
            account,
            TokenPurpose.broadcaster,
            TokenSet(
                access_token=token.access_token,
                refresh_token=token.refresh_token,
                expires_at=datetime.now(UTC) + expires_in,
                scopes=tuple(token.scopes),
            ),
        )
    return Linked(owner.id, channel.id, token)


async def _token_row(resources: Resources) -> tuple[str, str | None, int]:
    async with unit_of_work(resources) as session:
        row = await session.execute(
            text("SELECT status::text, last_error, version FROM platform_tokens")
        )
        status, error, version = row.one()
    return status, error, version


async def _link_status(resources: Resources, channel_id: int) -> str:
    async with unit_of_work(resources) as session:
        status: str = (
            await session.execute(
                text("SELECT status::text FROM channel_links WHERE channel_id = :c"),
                {"c": channel_id},
            )
        ).scalar_one()
    return status


async def _current_access(resources: Resources, settings: Settings, owner_id: int) -> str | None:
    async with unit_of_work(resources) as session:
        account_id: int = (
            await session.execute(
                text("SELECT id FROM platform_accounts WHERE user_id = :u"), {"u": owner_id}
            )
        ).scalar_one()
        return await platform_token_service.access_token(
            session, settings, account_id, TokenPurpose.broadcaster
        )


def _refreshes(fake: FakeTwitch) -> int:
    return sum(1 for request in fake.requests if request[:2] == ("POST", "/oauth2/token"))


async def test_a_token_about_to_expire_is_refreshed(
    resources: Resources, settings: Settings, fake_twitch: FakeTwitch
) -> None:
    linked = await _linked_channel(resources, settings, fake_twitch, timedelta(minutes=5))
    assert await refresh_platform_tokens({"resources": resources}) == 1

    access = await _current_access(resources, settings, linked.owner_id)
    assert access is not None and access != linked.token.access_token
    fresh = fake_twitch.tokens[access]
    assert (fresh.user_id, fresh.revoked) == ("5005", False)
    assert fake_twitch.tokens[linked.token.access_token].revoked  # Twitch rotated it
    assert await _link_status(resources, linked.channel_id) == "verified"
    # Not due any more: the next run leaves it alone.
    assert await refresh_platform_tokens({"resources": resources}) == 0
    assert _refreshes(fake_twitch) == 1


async def test_a_token_far_from_expiry_is_left_alone(
    resources: Resources, settings: Settings, fake_twitch: FakeTwitch
) -> None:
    await _linked_channel(resources, settings, fake_twitch, timedelta(hours=3))
    assert await refresh_platform_tokens({"resources": resources}) == 0
    assert _refreshes(fake_twitch) == 0


async def test_workers_running_the_cron_together_refresh_a_token_once(
    resources: Resources, settings: Settings, fake_twitch: FakeTwitch
) -> None:
    linked = await _linked_channel(resources, settings, fake_twitch, timedelta(minutes=5))
    results = await asyncio.gather(
        *(refresh_platform_tokens({"resources": resources}) for _ in range(3))
    )
    assert sorted(results, key=lambda refreshed: refreshed or 0) == [0, 0, 1]
    assert _refreshes(fake_twitch) == 1  # a second use of the rotated refresh token would fail
    assert await _link_status(resources, linked.channel_id) == "verified"


async def test_a_revoked_grant_marks_the_link_needs_relink_and_tells_the_streamer(
    resources: Resources,
    settings: Settings,
    fake_twitch: FakeTwitch,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    emitted: list[tuple[str, Any, str]] = []

    async def record(event: str, data: Any, room: str) -> None:
        emitted.append((event, data, room))

    monkeypatch.setattr(resources.emitter, "emit", record)
    linked = await _linked_channel(resources, settings, fake_twitch, timedelta(minutes=5))
    fake_twitch.revoke(linked.token.access_token)  # the streamer disconnected the app

    assert await refresh_platform_tokens({"resources": resources}) == 0
    status, error, _ = await _token_row(resources)
    assert status == "needs_relink" and error
    assert await _link_status(resources, linked.channel_id) == "needs_relink"
    assert await _current_access(resources, settings, linked.owner_id) is None
    [(event, data, room)] = emitted
    assert (event, room) == ("notification", f"user:{linked.owner_id}")
    # The event is the notification now in the streamer's inbox.
    assert (data.kind, data.data["login"], data.data["purpose"]) == (
        "platform.needs_relink",
        "erin",
        TokenPurpose.broadcaster.value,
    )
    assert data.id > 0 and data.title == "Link Twitch again"


async def test_twitch_unreachable_keeps_the_token_for_the_next_run(
    resources: Resources, settings: Settings, fake_twitch: FakeTwitch
) -> None:
    linked = await _linked_channel(resources, settings, fake_twitch, timedelta(minutes=5))
    await fake_twitch.stop()
    assert await refresh_platform_tokens({"resources": resources}) == 0
    status, error, _ = await _token_row(resources)
    assert status == "active"
    assert error is not None and "unreachable" in error
    assert await _link_status(resources, linked.channel_id) == "verified"


async def test_without_twitch_configured_the_cron_does_nothing(
    resources: Resources, database_url: str, redis_url: str
) -> None:
    plain = dataclasses.replace(
        resources, settings=Settings(database_url=database_url, redis_url=redis_url)
    )
    assert await refresh_platform_tokens({"resources": plain}) is None


async def test_a_run_that_dies_midway_keeps_the_tokens_it_already_refreshed(
    resources: Resources,
    settings: Settings,
    fake_twitch: FakeTwitch,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Twitch rotates the refresh token on every refresh (the old one stops working): each
    refresh is committed before the next is asked for, so a worker killed on the second token
    has kept the first one's new tokens, and that link stays usable."""
    first = await _linked_channel(resources, settings, fake_twitch, timedelta(minutes=2))
    second = await _linked_channel(
        resources, settings, fake_twitch, timedelta(minutes=4), "6006", "finn"
    )
    real_refresh = TwitchOAuth.refresh
    calls = 0

    async def dies_on_the_second(self: TwitchOAuth, refresh_token: str) -> Any:
        nonlocal calls
        calls += 1
        fresh = await real_refresh(self, refresh_token)
        if calls == 2:
            raise asyncio.CancelledError  # the worker is killed with Twitch's answer in hand
        return fresh

    monkeypatch.setattr(TwitchOAuth, "refresh", dies_on_the_second)
    with pytest.raises(asyncio.CancelledError):
        await refresh_platform_tokens({"resources": resources})

    access = await _current_access(resources, settings, first.owner_id)
    assert access is not None and access != first.token.access_token
    assert not fake_twitch.tokens[access].revoked  # the first link still works
    assert await _current_access(resources, settings, second.owner_id) == second.token.access_token
