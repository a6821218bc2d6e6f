"""The channel service's points rules, called directly (as Socket.IO and chat commands will)."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from app.auth.tokens import Principal
from app.channel import schemas
from app.channel.errors import DailyBonusNotReady
from app.channel.service import bonus_key, channel_service, grant_key
from app.kit.resources import Resources
from app.kit.uow import unit_of_work
from app.models.user import Role
from app.settings import Settings
from tests.factories import create_user


async def _channel_and_viewer(resources: Resources, settings: Settings) -> tuple[int, int]:
    async with unit_of_work(resources) as session:
        owner = await create_user(session, settings)
        viewer = await create_user(session, settings)
        channel = await channel_service.create(
            session,
            Principal(owner.id, Role.user),
            schemas.ChannelCreate(slug="svc-chan", name="Service"),
        )
    return channel.id, viewer.id


async def test_the_sign_up_grant_is_paid_once_ever(
    resources: Resources, settings: Settings
) -> None:
    channel_id, viewer_id = await _channel_and_viewer(resources, settings)
    async with unit_of_work(resources) as session:
        joined = await channel_service.join(session, settings, viewer_id, channel_id)
    assert joined.balance == settings.points_signup_grant

    # Even if the membership were gone and the grant's size changed, no second grant.
    async with unit_of_work(resources) as session:
        await session.execute(
            text("DELETE FROM channel_members WHERE channel_id = :c AND user_id = :u"),
            {"c": channel_id, "u": viewer_id},
        )
    bigger = settings.model_copy(update={"points_signup_grant": 5_000})
    async with unit_of_work(resources) as session:
        rejoined = await channel_service.join(session, bigger, viewer_id, channel_id)
    assert rejoined.balance == settings.points_signup_grant


async def test_a_refused_daily_bonus_says_when_it_is_ready(
    resources: Resources, settings: Settings
) -> None:
    channel_id, viewer_id = await _channel_and_viewer(resources, settings)
    async with unit_of_work(resources) as session:
        await channel_service.join(session, settings, viewer_id, channel_id)
    async with unit_of_work(resources) as session:
        claimed = await channel_service.claim_daily_bonus(session, settings, viewer_id, channel_id)
    assert claimed.last_bonus_at is not None
    with pytest.raises(DailyBonusNotReady) as refused:
        async with unit_of_work(resources) as session:
            await channel_service.claim_daily_bonus(session, settings, viewer_id, channel_id)
    ready = datetime.fromisoformat(refused.value.details["next_at"])
    assert ready == claimed.last_bonus_at + timedelta(hours=24)


def test_bonus_keys_follow_the_previous_claim() -> None:
    claimed = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    assert bonus_key(7, 9, None) == "channel:7:bonus:9:0"
    assert bonus_key(7, 9, claimed) == bonus_key(7, 9, claimed.astimezone())
    assert bonus_key(7, 9, claimed) != bonus_key(7, 9, claimed + timedelta(microseconds=1))


def test_grant_keys_are_scoped_and_fit_the_ledger() -> None:
    assert grant_key(7, 3, "abc") == "channel:7:grant:3:abc"
    assert grant_key(7, 3, "abc") != grant_key(7, 4, "abc")
    long_keys = [grant_key(7, 3, "k" * 255), grant_key(7, 3, "k" * 254 + "j")]
    assert all(len(key) <= 255 for key in long_keys)
    assert long_keys[0] != long_keys[1]
