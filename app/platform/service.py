"""Platform identities: signing in and linking with a platform account, chat-only viewers
created on first interaction, and their merge into a full account.

Merging and bets still open: a chat-only viewer's bets stay theirs (a bet is one user's
position; moving positions could collide with the target's own in the same pool). Their
balances move to the target at once, and whatever their open bets pay out or refund later is
swept to the target by ``sweep_merged`` (a cron job), each wallet state moved once under an
idempotency key naming it. So no money is lost or moved twice, and no merge waits for a pool."""

from datetime import datetime

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.schemas import AuthSession
from app.auth.service import auth_service
from app.auth.tokens import Principal
from app.channel.permissions import channel_or_404, require_owner
from app.channel.service import channel_service
from app.kit.platforms import youtube_configured
from app.ledger.service import ledger_service
from app.models.channel import Channel, LinkStatus, Platform
from app.models.ledger import TransactionKind
from app.models.platform import PlatformAccount
from app.models.user import User
from app.platform.errors import AccountCannotLink, PlatformIdentityTaken
from app.platform.repository import platform_repository
from app.platform.schemas import IdentityInfo, LinkState, LinkStateList
from app.settings import Settings
from app.stream.youtube_quota import QuotaPlanner
from app.user.repository import user_repository

DISPLAY_NAME_MAX = 64
#: Merged accounts swept per run of ``sweep_merged``.
SWEEP_BATCH = 200


def sweep_key(merged_user: int, wallet_id: int, last_entry_id: int) -> str:
    """The ledger key of moving one state of a merged account's wallet: the same state moves
    once however often (or concurrently) the merge or the sweep runs."""
    return f"platform.merge:{merged_user}:{wallet_id}:{last_entry_id}"


class PlatformIdentityService:
    async def sign_in_with_platform(self, session: AsyncSession, info: IdentityInfo) -> User:
        """The account of a platform identity its owner just proved (OAuth): its account if
        it has one (a chat-only one is claimed: it becomes a full account), else a new account
        without password. Names follow the platform. An email another account uses is not
        taken over (no account is ever joined to another by email)."""
        account = await platform_repository.account(
            session, info.platform, info.platform_user_id, for_update=True
        )
        if account is None:
            new_user = User(
                email=await self._free_email(session, info.email),
                password_hash=None,
                display_name=_display_name(info),
            )
            account = _account(info)
            if await platform_repository.add_account_with_user(session, new_user, account):
                return new_user
            # Created by a concurrent first sign-in: that account is the one.
            return await self.sign_in_with_platform(session, info)
        _follow_names(account, info)
        user = await user_repository.lock(session, account.user_id)
        assert user is not None
        if user.chat_only:
            user.chat_only = False
            user.email = await self._free_email(session, info.email)
        await session.flush()
        return user

    async def start_session(
        self, session: AsyncSession, settings: Settings, user: User
    ) -> AuthSession:
        """Sign ``user`` in (access and refresh tokens), as a password sign-in would: what the
        platform OAuth callback answers with after ``sign_in_with_platform``."""
        return await auth_service.start_session(session, settings, user)

    async def link_platform_to_user(
        self, session: AsyncSession, settings: Settings, user_id: int, info: IdentityInfo
    ) -> PlatformAccount:
        """Link a platform identity its owner just proved (OAuth) to their signed-in account.
        An identity of a chat-only account is merged in (money, memberships, identities); one
        of another full account is refused (409 ``platform_identity_taken``)."""
        target = await user_repository.lock(session, user_id)
        if target is None or target.chat_only:
            raise AccountCannotLink()
        account = await platform_repository.account(
            session, info.platform, info.platform_user_id, for_update=True
        )
        if account is None:
            account = _account(info)
            account.user_id = target.id
            if await platform_repository.add_account(session, account):
                return account
            return await self.link_platform_to_user(session, settings, user_id, info)
        _follow_names(account, info)
        if account.user_id != target.id:
            owner = await user_repository.lock(session, account.user_id)
            assert owner is not None
            if not owner.chat_only:
                raise PlatformIdentityTaken()
            await self._merge(session, owner, target)
        await session.flush()
        return account

    async def chatter(
        self,
        session: AsyncSession,
        settings: Settings,
        channel: Channel,
        platform: Platform,
        platform_user_id: str,
        login: str,
        display_name: str,
    ) -> User:
        """The account of a viewer seen in a channel's chat: theirs if the identity is known,
        else a new chat-only account (created once, however many messages race), and a member
        of the channel (the first join credits the channel's sign-up grant)."""
        info = IdentityInfo(
            platform=platform,
            platform_user_id=platform_user_id,
            login=login,
            display_name=display_name,
        )
        account = await platform_repository.account(session, platform, platform_user_id)
        if account is None:
            chat_user = User(
                email=None, password_hash=None, display_name=_display_name(info), chat_only=True
            )
            account = _account(info)
            if not await platform_repository.add_account_with_user(session, chat_user, account):
                account = await platform_repository.account(session, platform, platform_user_id)
                assert account is not None  # committed by the concurrent insert that won
        elif (account.login, account.display_name) != (login, display_name):
            _follow_names(account, info)
            await session.flush()
        user = await user_repository.get(session, account.user_id)
        assert user is not None
        await channel_service.ensure_member(session, settings, channel, user.id)
        return user

    async def sweep_merged(self, session: AsyncSession) -> int:
        """Move to their new account what merged accounts received after the merge (payouts
        and refunds of bets they had placed before it). Returns the transfers made."""
        moved = 0
        for merged, into in await platform_repository.merged_with_money(session, SWEEP_BATCH):
            user = await user_repository.lock(session, merged)
            assert user is not None
            moved += await self._sweep_wallets(session, merged, into)
        return moved

    async def _merge(self, session: AsyncSession, chat_user: User, target: User) -> None:
        """Fold a chat-only account into ``target``: its money (through the ledger), its
        channel memberships (no second sign-up grant), its platform identities. The chat-only
        account remains, marked merged, for the ledger's history and its bets' payouts."""
        await self._sweep_wallets(session, chat_user.id, target.id)
        await channel_service.move_memberships(session, chat_user.id, target.id)
        await platform_repository.repoint_accounts(session, chat_user.id, target.id)
        chat_user.merged_into = target.id
        await session.flush()

    async def _sweep_wallets(self, session: AsyncSession, from_user: int, to_user: int) -> int:
        moved = 0
        for wallet in await platform_repository.wallets_to_sweep(session, from_user):
            target_wallet = await ledger_service.wallet(session, to_user, wallet.currency)
            posted = await ledger_service.transfer(
                session,
                wallet.account_id,
                target_wallet,
                wallet.balance,
                wallet.currency,
                key=sweep_key(from_user, wallet.account_id, wallet.last_entry_id),
                kind=TransactionKind.transfer,
                memo={"reason": "account_merge", "from_user": from_user, "to_user": to_user},
            )
            moved += not posted.replayed
        return moved

    async def _free_email(self, session: AsyncSession, email: str | None) -> str | None:
        if email is None or await user_repository.get_by_email(session, email) is not None:
            return None
        return email


def _account(info: IdentityInfo) -> PlatformAccount:
    return PlatformAccount(
        platform=info.platform,
        platform_user_id=info.platform_user_id,
        login=info.login,
        display_name=info.display_name,
        user_id=0,
    )


def _follow_names(account: PlatformAccount, info: IdentityInfo) -> None:
    account.login = info.login
    account.display_name = info.display_name


def _display_name(info: IdentityInfo) -> str:
    return (info.display_name.strip() or info.login)[:DISPLAY_NAME_MAX]


platform_identity_service = PlatformIdentityService()


class PlatformLinkService:
    async def channel_links(
        self,
        session: AsyncSession,
        settings: Settings,
        redis: Redis,
        principal: Principal,
        channel_id: int,
        now: datetime,
    ) -> LinkStateList:
        """The channel's links for its owner (admins too, as for adding and removing one):
        the platform account that proved each, and whether YouTube chat betting is paused
        for the day's shared quota (read from the quota planner's state in Redis)."""
        channel = await channel_or_404(session, channel_id)
        require_owner(channel, principal)
        rows = await platform_repository.channel_links(session, channel.id)
        paused_until: datetime | None = None
        if youtube_configured(settings) and any(
            link.platform is Platform.youtube and link.status is not LinkStatus.unverified
            for link, _ in rows
        ):
            paused_until = await QuotaPlanner(settings, redis).polls_paused_until(now)
        return LinkStateList(
            channel_id=channel.id,
            links=[
                LinkState(
                    id=link.id,
                    platform=link.platform,
                    external_id=link.external_id,
                    verified=link.verified,
                    status=link.status,
                    login=None if account is None else account.login,
                    display_name=None if account is None else account.display_name,
                    quota_paused_until=paused_until
                    if link.platform is Platform.youtube and link.verified
                    else None,
                )
                for link, account in rows
            ],
        )


platform_link_service = PlatformLinkService()
