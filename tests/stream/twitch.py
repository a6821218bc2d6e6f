"""A fake platform (Twitch, Kick) and channels linked to it through stored grants, as an OAuth
link leaves them."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select

from app.channel.service import channel_service
from app.kit.resources import Resources
from app.kit.uow import read_session, unit_of_work
from app.models.channel import ChannelLink, LinkStatus
from app.models.platform import PlatformAccount, TokenPurpose
from app.platform.schemas import TokenSet
from app.platform.tokens import platform_token_service
from app.settings import Settings
from tests.factories import create_channel, create_platform_account, create_user
from tests.fakes.oauth import Token
from tests.fakes.twitch import FakeTwitch, objects

PREDICTIONS = ["channel:read:predictions", "channel:manage:predictions"]
KICK_BROADCASTER = ["user:read", "channel:read", "events:subscribe"]
KICK_BOT = ["user:read", "chat:write"]


class FakePlatform(Protocol):
    """What linking needs of a fake platform (``FakeTwitch``, ``FakeKick``)."""

    def add_user(self, user_id: str, name: str) -> Any: ...

    def issue_token(self, user_id: str | None, scopes: list[str] | None = None) -> Token: ...


BOT_SCOPES = ["user:read:chat", "user:write:chat", "user:bot"]


@dataclass(frozen=True)
class Linked:
    channel_id: int
    account_id: int
    broadcaster_id: str
    #: The grant's access token at the fake.
    access_token: str


async def grant(
    resources: Resources,
    settings: Settings,
    fake: FakePlatform,
    account: PlatformAccount,
    purpose: TokenPurpose,
    scopes: list[str],
) -> str:
    """The account's grant, issued by the fake and stored as the OAuth callback stores it."""
    token = fake.issue_token(account.platform_user_id, scopes)
    assert token.refresh_token is not None
    async with unit_of_work(resources) as session:
        await platform_token_service.store(
            session,
            settings,
            account,
            purpose,
            TokenSet(
                access_token=token.access_token,
                refresh_token=token.refresh_token,
                expires_at=datetime.now(UTC) + timedelta(hours=4),
                scopes=tuple(scopes),
            ),
        )
    return token.access_token


async def link_channel(
    resources: Resources,
    settings: Settings,
    fake: FakePlatform,
    broadcaster_id: str,
    *,
    scopes: list[str] | None = None,
    platform: str = "twitch",
) -> Linked:
    """A new streamer whose channel is linked to the platform channel ``broadcaster_id``."""
    login = f"streamer{broadcaster_id}"
    fake.add_user(broadcaster_id, login)
    async with unit_of_work(resources) as session:
        owner = await create_user(session, settings)
        channel = await create_channel(session, owner.id)
        account = await create_platform_account(
            session, owner.id, platform=platform, platform_user_id=broadcaster_id, login=login
        )
        await channel_service.link_verified(session, channel, account)
    access = await grant(
        resources,
        settings,
        fake,
        account,
        TokenPurpose.broadcaster,
        scopes if scopes is not None else PREDICTIONS if platform == "twitch" else KICK_BROADCASTER,
    )
    return Linked(channel.id, account.id, broadcaster_id, access)


async def link_bot(
    resources: Resources,
    settings: Settings,
    fake: FakePlatform,
    bot_id: str,
    *,
    platform: str = "twitch",
    scopes: list[str] | None = None,
) -> PlatformAccount:
    """The platform's chat bot account and its grant."""
    fake.add_user(bot_id, "poolsbot")
    async with unit_of_work(resources) as session:
        user = await create_user(session, settings, display_name="Pools Bot")
        account = await create_platform_account(
            session, user.id, platform=platform, platform_user_id=bot_id, login="poolsbot"
        )
    if scopes is None:
        scopes = BOT_SCOPES if platform == "twitch" else KICK_BOT
    await grant(resources, settings, fake, account, TokenPurpose.bot, scopes)
    return account


async def link_status(resources: Resources, channel_id: int) -> LinkStatus:
    async with read_session(resources) as session:
        status = await session.scalar(
            select(ChannelLink.status).where(ChannelLink.channel_id == channel_id)
        )
    assert status is not None
    return status


#: (type, condition as sorted pairs)
Listed = tuple[str, tuple[tuple[str, str], ...]]


def listed(fake: FakeTwitch, **transport: str) -> set[Listed]:
    """(type, condition) of the fake's subscriptions whose transport has ``transport``."""
    return {
        (subscription["type"], tuple(sorted(subscription["condition"].items())))
        for subscription in fake.subscriptions.values()
        if all(subscription["transport"].get(k) == v for k, v in transport.items())
    }


def expected(
    broadcaster_id: str, *, predictions: bool = True, bot_id: str | None = None
) -> set[Listed]:
    condition: tuple[tuple[str, str], ...] = (("broadcaster_user_id", broadcaster_id),)
    types = ["stream.online", "stream.offline"]
    if predictions:
        types += [f"channel.prediction.{phase}" for phase in ("begin", "progress", "lock", "end")]
    wanted: set[Listed] = {(subscription_type, condition) for subscription_type in types}
    if bot_id is not None:
        wanted.add(
            (
                "channel.chat.message",
                (("broadcaster_user_id", broadcaster_id), ("user_id", bot_id)),
            )
        )
    return wanted


def subscription_of(
    fake: FakeTwitch, subscription_type: str, broadcaster_id: str
) -> objects.JsonObject:
    return next(
        subscription
        for subscription in fake.subscriptions.values()
        if subscription["type"] == subscription_type
        and subscription["condition"]["broadcaster_user_id"] == broadcaster_id
    )
