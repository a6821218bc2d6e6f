"""The dashboard's Platforms panel in a real browser, on a server with Kick's and YouTube's apps
and without Twitch's: the streamer sees the three platforms and their state, links the channel
to Kick through the fake Kick's sign-in and back, removes the link, and sees YouTube chat
betting paused for the day's quota; a platform without its app cannot be linked, and a
moderator sees the state without the buttons."""

import re
from datetime import UTC, datetime

import pytest
from playwright.async_api import Locator, Page, Route, expect
from sqlalchemy import select

from app.kit.uow import unit_of_work
from app.models.channel import ChannelLink, LinkStatus, Platform
from app.models.user import User
from app.settings import Settings
from app.stream.youtube_quota import QuotaPlanner
from tests.factories import add_moderator, create_platform_account
from tests.fakes.kick import FakeKick
from tests.fakes.youtube import FakeYouTube
from tests.web.conftest import Site, screenshot
from tests.web.test_dashboard import open_demo_channel, sign_in


@pytest.fixture
def settings(
    database_url: str, redis_url: str, fake_kick: FakeKick, fake_youtube: FakeYouTube
) -> Settings:
    """Kick's and YouTube's apps configured (their fakes), Twitch's not."""
    return fake_kick.settings(
        database_url,
        redis_url,
        youtube_client_id=fake_youtube.client_id,
        youtube_client_secret=fake_youtube.client_secret,
        google_oauth_base=fake_youtube.url,
        google_accounts_base=fake_youtube.url,
        youtube_api_base=fake_youtube.api_url,
    )


def platform(page: Page, name: str) -> Locator:
    return page.get_by_role("region", name="Platforms").get_by_role("listitem", name=name)


async def user_id(site: Site, email: str) -> int:
    async with unit_of_work(site.resources) as session:
        found: int = (
            await session.execute(select(User.id).where(User.email == email))
        ).scalar_one()
        return found


async def test_the_streamer_links_kick_through_its_sign_in_and_sees_each_platform(
    site: Site, fake_kick: FakeKick
) -> None:
    fake_kick.add_user("5005", "Erin")
    page = await site.page("/dashboard")
    channel_id = await open_demo_channel(page, site)
    await page.get_by_role("link", name="Platforms", exact=True).click()

    twitch, kick, youtube = (platform(page, n) for n in ("Twitch", "Kick", "YouTube"))
    for item in (twitch, kick, youtube):
        await expect(item.get_by_text("Not linked")).to_be_visible()
    # Twitch's app is not configured here: its button says why it is off.
    link_twitch = twitch.get_by_role("button", name="Link Twitch")
    await expect(link_twitch).to_be_disabled()
    await expect(link_twitch).to_have_accessible_description(
        "Twitch isn't set up on this server (its app's client id and secret)."
    )
    await expect(youtube.get_by_role("button", name="Link YouTube")).to_be_enabled()

    # Kick's consent: the fake approves as Erin (a person would click "Allow" at Kick).
    async def approve_as_erin(route: Route) -> None:
        await route.continue_(url=f"{route.request.url}&fake_user_id=5005")

    await page.route(re.compile(re.escape(fake_kick.url) + r"/oauth/authorize\?"), approve_as_erin)
    await kick.get_by_role("button", name="Link Kick").click()
    await expect(page.get_by_role("status")).to_have_text("Linked to the Kick channel erin.")
    await expect(
        page.get_by_role("region", name="Platforms").get_by_text("Linked to the Kick channel erin.")
    ).to_be_visible()
    await expect(page).to_have_url(f"{site.url}/dashboard/channels/{channel_id}/platforms")
    await expect(kick.get_by_text("Linked as erin")).to_be_visible()
    await expect(kick.get_by_role("button", name="Relink Kick")).to_be_enabled()
    await expect(twitch.get_by_text("Not linked")).to_be_visible()
    async with unit_of_work(site.resources) as session:
        links = (await session.execute(select(ChannelLink))).scalars().all()
        assert [(link.platform, link.external_id, link.status) for link in links] == [
            (Platform.kick, "5005", LinkStatus.verified)
        ]

    # Removed, after a confirmation.
    await kick.get_by_role("button", name="Remove the Kick link erin").click()
    await (
        page.get_by_role("dialog", name="Remove this link?")
        .get_by_role("button", name="Remove link")
        .click()
    )
    await expect(kick.get_by_text("Not linked")).to_be_visible()
    await expect(kick.get_by_role("button", name="Link Kick")).to_be_enabled()
    async with unit_of_work(site.resources) as session:
        assert (await session.execute(select(ChannelLink))).first() is None


async def test_youtube_chat_betting_paused_for_the_quota_and_what_a_moderator_sees(
    site: Site, settings: Settings
) -> None:
    streamer_id = await user_id(site, site.account("streamer").email)
    moderator_id = await user_id(site, site.account("viewer2").email)
    page = await site.page("/dashboard", timezone_id="America/Los_Angeles")
    channel_id = await open_demo_channel(page, site)
    async with unit_of_work(site.resources) as session:
        account = await create_platform_account(
            session, streamer_id, platform="youtube", platform_user_id="UCAda1337", login="ada"
        )
        session.add(
            ChannelLink(
                channel_id=channel_id,
                platform=Platform.youtube,
                external_id="UCAda1337",
                status=LinkStatus.verified,
                platform_account_id=account.id,
            )
        )
        await add_moderator(session, channel_id, moderator_id, by=streamer_id)
    await QuotaPlanner(settings, site.resources.redis).exhausted(datetime.now(UTC))

    await page.goto(f"/dashboard/channels/{channel_id}/platforms")
    youtube = platform(page, "YouTube")
    await expect(youtube.get_by_text("Linked as ada")).to_be_visible()
    # Google's reset is midnight in Los Angeles: the streamer there reads 00:00.
    await expect(
        youtube.get_by_text("Chat betting on YouTube paused until 00:00 (daily quota)")
    ).to_be_visible()
    await expect(youtube.get_by_role("button", name="Relink YouTube")).to_be_enabled()
    await screenshot(page, "dashboard-platforms")

    # A moderator sees each platform's state; linking is the owner's.
    moderator = await site.page("/dashboard")
    await sign_in(moderator, site.account("viewer2"))
    await moderator.get_by_role("link", name="Demo boss fights").click()
    await moderator.get_by_role("link", name="Platforms", exact=True).click()
    await expect(platform(moderator, "YouTube").get_by_text("Linked (UCAda1337)")).to_be_visible()
    await expect(platform(moderator, "Kick").get_by_text("Not linked")).to_be_visible()
    await expect(platform(moderator, "Twitch").get_by_text("Not linked")).to_be_visible()
    await expect(moderator.get_by_text("Only the channel's owner links platforms")).to_be_visible()
    await expect(
        moderator.get_by_role("region", name="Platforms").get_by_role("button")
    ).to_have_count(0)
