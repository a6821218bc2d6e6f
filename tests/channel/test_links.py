"""Verified platform links: made by the platform account's owner through OAuth, they replace
any unverified claim of the same platform channel, and follow their tokens' health."""

import pytest
from sqlalchemy import text

from app.channel.errors import PlatformAccountNotOwners, PlatformChannelTaken
from app.channel.service import channel_service
from app.kit.resources import Resources
from app.kit.uow import unit_of_work
from app.models.channel import ChannelLink, LinkStatus, Platform
from app.settings import Settings
from tests.factories import create_channel, create_platform_account, create_user


async def _audit(resources: Resources, channel_id: int) -> list[tuple[str, dict[str, object]]]:
    async with unit_of_work(resources) as session:
        rows = await session.execute(
            text("SELECT action, details FROM channel_audit WHERE channel_id = :c ORDER BY id"),
            {"c": channel_id},
        )
        return [(action, details) for action, details in rows]


async def test_the_real_owner_replaces_an_unverified_claim_and_both_channels_audit_it(
    resources: Resources, settings: Settings
) -> None:
    async with unit_of_work(resources) as session:
        squatter = await create_user(session, settings)
        streamer = await create_user(session, settings)
        claimed = await create_channel(session, squatter.id)
        real = await create_channel(session, streamer.id)
        # Declared before Twitch links needed OAuth (or a Kick claim, once Kick has OAuth).
        squatted = ChannelLink(channel_id=claimed.id, platform=Platform.twitch, external_id="777")
        session.add(squatted)
        await session.flush()
        account = await create_platform_account(session, streamer.id, platform_user_id="777")

    async with unit_of_work(resources) as session:
        link = await channel_service.link_verified(session, real, account)
    assert link.verified and link.status is LinkStatus.verified and link.external_id == "777"

    async with unit_of_work(resources) as session:
        shown = await channel_service.get(session, claimed.id)
        assert shown.links == []
        found = await channel_service.verified_channel(session, Platform.twitch, "777")
        assert found is not None and found.id == real.id
    (action, details), *_ = [a for a in await _audit(resources, claimed.id)]
    assert action == "link_replaced_by_verified"
    assert details["verified_by_channel_id"] == real.id
    actions = await _audit(resources, real.id)
    assert [a for a, _ in actions] == ["link_verified"]
    assert actions[0][1]["replaced_unverified"] == {
        "link_id": squatted.id,
        "channel_id": claimed.id,
    }

    # Linking again changes nothing; a verified link is not taken by another channel.
    async with unit_of_work(resources) as session:
        again = await channel_service.link_verified(session, real, account)
        assert again.id == link.id
        other = await create_channel(session, streamer.id)
    with pytest.raises(PlatformChannelTaken):
        async with unit_of_work(resources) as session:
            await channel_service.link_verified(session, other, account)
    assert len(await _audit(resources, real.id)) == 1


async def test_only_the_channel_owners_own_platform_account_is_linked(
    resources: Resources, settings: Settings
) -> None:
    async with unit_of_work(resources) as session:
        owner = await create_user(session, settings)
        someone = await create_user(session, settings)
        channel = await create_channel(session, owner.id)
        theirs = await create_platform_account(session, someone.id)
    with pytest.raises(PlatformAccountNotOwners):
        async with unit_of_work(resources) as session:
            await channel_service.link_verified(session, channel, theirs)


async def test_an_unverified_link_never_steers_a_channel(
    resources: Resources, settings: Settings
) -> None:
    async with unit_of_work(resources) as session:
        owner = await create_user(session, settings)
        channel = await create_channel(session, owner.id)
        session.add(ChannelLink(channel_id=channel.id, platform=Platform.kick, external_id="k9"))
    async with unit_of_work(resources) as session:
        assert await channel_service.verified_channel(session, Platform.kick, "k9") is None


async def test_failing_tokens_mark_the_links_needing_a_relink_and_a_relink_restores_them(
    resources: Resources, settings: Settings
) -> None:
    async with unit_of_work(resources) as session:
        owner = await create_user(session, settings)
        channel = await create_channel(session, owner.id)
        account = await create_platform_account(session, owner.id)
        await channel_service.link_verified(session, channel, account)
    async with unit_of_work(resources) as session:
        await channel_service.set_account_links_status(session, account.id, LinkStatus.needs_relink)
    async with unit_of_work(resources) as session:
        (link,) = (await channel_service.get(session, channel.id)).links
        assert link.status is LinkStatus.needs_relink and link.verified
        # Events still reach the channel while it waits for the relink.
        assert await channel_service.verified_channel(
            session, Platform.twitch, account.platform_user_id
        )
        relinked = await channel_service.link_verified(session, channel, account)
    assert relinked.status is LinkStatus.verified
    actions = [a for a, _ in await _audit(resources, channel.id)]
    assert actions == ["link_verified", "link_status_changed", "link_verified"]
