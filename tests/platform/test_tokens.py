"""Platform tokens: encrypted at rest, refreshed before expiry by one process at a time, and a
revoked token marks its links needs_relink and tells its owner."""

import asyncio
from datetime import UTC, datetime, timedelta

from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import text

from app.channel.service import channel_service
from app.kit.effects import Emit, effects_of
from app.kit.resources import Resources
from app.kit.uow import unit_of_work
from app.models.channel import LinkStatus, Platform
from app.models.platform import PlatformAccount, TokenPurpose
from app.notification.schemas import Notification
from app.platform.errors import TokenRevoked
from app.platform.schemas import TokenSet
from app.platform.tokens import platform_token_service
from app.settings import Settings
from tests.factories import create_channel, create_platform_account, create_user

BROADCASTER = TokenPurpose.broadcaster


def _tokens(suffix: str, expires_in: timedelta) -> TokenSet:
    return TokenSet(
        access_token=f"access-{suffix}",
        refresh_token=f"refresh-{suffix}",
        expires_at=datetime.now(UTC) + expires_in,
        scopes=("channel:read:predictions",),
    )


class FakeRefresher:
    """The platform's token endpoint: counts calls, revokes the refresh tokens it is told to."""

    def __init__(self, revoked: frozenset[str] = frozenset(), fail: bool = False) -> None:
        self.calls: list[str] = []
        self.revoked = revoked
        self.fail = fail

    async def __call__(self, platform: Platform, refresh_token: str) -> TokenSet:
        self.calls.append(refresh_token)
        await asyncio.sleep(0.05)  # the platform takes a moment: concurrent runs overlap
        if refresh_token in self.revoked:
            raise TokenRevoked()
        if self.fail:
            raise ConnectionError("platform unreachable")
        return _tokens(f"{refresh_token}-next", timedelta(hours=4))


async def _linked_account(
    resources: Resources, settings: Settings, expires_in: timedelta
) -> PlatformAccount:
    async with unit_of_work(resources) as session:
        owner = await create_user(session, settings)
        channel = await create_channel(session, owner.id)
        account = await create_platform_account(session, owner.id)
        await channel_service.link_verified(session, channel, account)
        await platform_token_service.store(
            session, settings, account, BROADCASTER, _tokens("1", expires_in)
        )
    return account


async def _stored(resources: Resources) -> tuple[str, str, str, int]:
    async with unit_of_work(resources) as session:
        row = await session.execute(
            text("SELECT access_token, refresh_token, status::text, version FROM platform_tokens")
        )
        access, refresh, status, version = row.one()
    return access, refresh, status, version


async def test_tokens_are_stored_encrypted_and_read_back(
    resources: Resources, settings: Settings
) -> None:
    account = await _linked_account(resources, settings, timedelta(hours=4))
    access, refresh, status, _ = await _stored(resources)
    assert "access-1" not in access and "refresh-1" not in refresh and status == "active"
    async with unit_of_work(resources) as session:
        assert (
            await platform_token_service.access_token(session, settings, account.id, BROADCASTER)
            == "access-1"
        )


async def test_tokens_about_to_expire_are_refreshed_once_by_concurrent_runs(
    resources: Resources, settings: Settings
) -> None:
    account = await _linked_account(resources, settings, timedelta(minutes=5))
    refresher = FakeRefresher()

    async def run() -> int:
        async with unit_of_work(resources) as session:
            report = await platform_token_service.refresh_due_tokens(session, settings, refresher)
            return report.refreshed

    assert sorted(await asyncio.gather(run(), run())) == [0, 1]
    assert refresher.calls == ["refresh-1"]
    _, _, status, version = await _stored(resources)
    assert (status, version) == ("active", 2)
    async with unit_of_work(resources) as session:
        assert (
            await platform_token_service.access_token(session, settings, account.id, BROADCASTER)
            == "access-refresh-1-next"
        )
        # Now far from expiry: nothing is due.
        report = await platform_token_service.refresh_due_tokens(session, settings, refresher)
    assert report.refreshed == 0 and refresher.calls == ["refresh-1"]


async def test_a_revoked_token_needs_a_relink_its_links_too_and_its_owner_is_told(
    resources: Resources, settings: Settings
) -> None:
    account = await _linked_account(resources, settings, timedelta(minutes=5))
    refresher = FakeRefresher(revoked=frozenset({"refresh-1"}))
    async with unit_of_work(resources) as session:
        report = await platform_token_service.refresh_due_tokens(session, settings, refresher)
        (notice,) = [e for e in effects_of(session).pending if isinstance(e, Emit)]
    assert report.needs_relink == 1
    assert notice.event == "notification" and notice.room == f"user:{account.user_id}"
    # The socket event is the row now in the owner's inbox.
    assert isinstance(notice.data, Notification) and notice.data.kind == "platform.needs_relink"
    assert notice.data.data["login"] == account.login and notice.data.id > 0
    assert (await _stored(resources))[2] == "needs_relink"
    async with unit_of_work(resources) as session:
        links = await session.execute(text("SELECT status::text FROM channel_links"))
        assert links.scalar_one() == LinkStatus.needs_relink.value
        assert (
            await platform_token_service.access_token(session, settings, account.id, BROADCASTER)
            is None
        )
        # Not retried: only its owner signing in again helps.
        assert (
            await platform_token_service.refresh_due_tokens(session, settings, refresher)
        ).needs_relink == 0
        # The relink (OAuth again) stores fresh tokens and the link is verified again.
        await platform_token_service.store(
            session, settings, account, BROADCASTER, _tokens("2", timedelta(hours=4))
        )
    assert (await _stored(resources))[2] == "active"
    async with unit_of_work(resources) as session:
        links = await session.execute(text("SELECT status::text FROM channel_links"))
        assert links.scalar_one() == LinkStatus.verified.value


async def test_a_passing_failure_is_retried_until_the_token_expires(
    resources: Resources, settings: Settings
) -> None:
    await _linked_account(resources, settings, timedelta(minutes=5))
    async with unit_of_work(resources) as session:
        report = await platform_token_service.refresh_due_tokens(
            session, settings, FakeRefresher(fail=True)
        )
    assert (report.failed, report.needs_relink) == (1, 0)
    assert (await _stored(resources))[2] == "active"
    async with unit_of_work(resources) as session:
        await session.execute(text("UPDATE platform_tokens SET expires_at = now()"))
    async with unit_of_work(resources) as session:
        report = await platform_token_service.refresh_due_tokens(
            session, settings, FakeRefresher(fail=True)
        )
    assert report.needs_relink == 1
    assert (await _stored(resources))[2] == "needs_relink"


async def test_rotation_re_encrypts_every_token_under_the_new_key(
    resources: Resources, settings: Settings
) -> None:
    account = await _linked_account(resources, settings, timedelta(hours=4))
    new_key = Fernet.generate_key().decode()
    old_keys = settings.token_keys.get_secret_value()
    rotated = settings.model_copy(update={"token_keys": SecretStr(f"{new_key},{old_keys}")})
    async with unit_of_work(resources) as session:
        assert await platform_token_service.reencrypt_all(session, rotated) == 1
    only_new = settings.model_copy(update={"token_keys": SecretStr(new_key)})
    async with unit_of_work(resources) as session:
        assert (
            await platform_token_service.access_token(session, only_new, account.id, BROADCASTER)
            == "access-1"
        )
