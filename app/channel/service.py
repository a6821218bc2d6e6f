"""Channels: creation and settings, platform links, moderators, and the channel's points
(sign-up grant, daily bonus, staff grants), all minted through the ledger from the channel's
points issuer. Every staff change is audited."""

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.tokens import Principal
from app.channel import schemas
from app.channel.errors import (
    CashNeedsApproval,
    ChannelNotFound,
    ChannelSlugTaken,
    DailyBonusNotReady,
    GrantCapReached,
    LinkNeedsOAuth,
    LinkNotFound,
    NotAMember,
    PlatformAccountNotOwners,
    PlatformChannelTaken,
    SelfGrant,
    UserNotFound,
)
from app.channel.permissions import channel_or_404, require_owner, require_staff
from app.channel.repository import channel_repository
from app.kit.currency import points
from app.kit.errors import InvalidInput
from app.ledger.errors import IdempotencyKeyReused
from app.ledger.repository import ledger_repository
from app.ledger.service import PostedTransaction, ledger_service
from app.models.channel import (
    Channel,
    ChannelLink,
    ChannelMember,
    LinkStatus,
    Platform,
    PointsGrant,
)
from app.models.ledger import AccountKind, TransactionKind
from app.models.platform import PlatformAccount
from app.settings import Settings
from app.user.repository import user_repository

BONUS_INTERVAL = timedelta(hours=24)
#: The daily grant cap counts over a rolling window, so there is no midnight to straddle.
GRANT_CAP_WINDOW = timedelta(hours=24)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: Platforms whose channels are linked only through OAuth by their owner, never declared
#: (YouTube joins them when its OAuth is built).
OAUTH_ONLY = frozenset({Platform.twitch, Platform.kick})


def link_view(link: ChannelLink) -> schemas.Link:
    return msgspec.convert(link, schemas.Link, from_attributes=True)


def channel_view(channel: Channel, links: list[ChannelLink]) -> schemas.Channel:
    return schemas.Channel(
        id=channel.id,
        slug=channel.slug,
        name=channel.name,
        owner_id=channel.owner_id,
        cash_enabled=channel.cash_enabled,
        twitch_moderators_run_pools=channel.twitch_moderators_run_pools,
        links=[link_view(link) for link in links],
        created_at=channel.created_at,
    )


def next_bonus_at(member: ChannelMember) -> datetime | None:
    return None if member.last_bonus_at is None else member.last_bonus_at + BONUS_INTERVAL


def bonus_key(channel_id: int, user_id: int, previous: datetime | None) -> str:
    """Each claim is keyed by the claim before it, so one state of the member row can mint
    one bonus however often the request is retried."""
    after = 0 if previous is None else (previous - EPOCH) // timedelta(microseconds=1)
    return f"channel:{channel_id}:bonus:{user_id}:{after}"


def grant_key(channel_id: int, actor_id: int, client_key: str) -> str:
    """The ledger key of a staff grant: the client's key, scoped to the channel and the
    granting user (hashed when it would not fit the ledger's 255 characters)."""
    key = f"channel:{channel_id}:grant:{actor_id}:{client_key}"
    if len(key) <= 255:
        return key
    digest = hashlib.sha256(client_key.encode()).hexdigest()
    return f"channel:{channel_id}:grant:{actor_id}:sha256:{digest}"


class ChannelService:
    # -- channels ----------------------------------------------------------------------------

    async def create(
        self, session: AsyncSession, principal: Principal, data: schemas.ChannelCreate
    ) -> schemas.Channel:
        """Create a channel owned by the caller; its slug is unique."""
        channel = Channel(slug=data.slug, name=data.name.strip(), owner_id=principal.user_id)
        if not await channel_repository.add_channel(session, channel):
            raise ChannelSlugTaken()
        await channel_repository.audit(
            session, channel.id, principal.user_id, "channel_created", {"slug": channel.slug}
        )
        return channel_view(channel, [])

    async def staffed_by(
        self, session: AsyncSession, principal: Principal
    ) -> schemas.StaffChannelList:
        """The channels the caller owns or moderates (an admin's too: only their own)."""
        rows = await channel_repository.staffed_by(session, principal.user_id)
        links = await channel_repository.links_of(session, [channel.id for channel, _ in rows])
        return schemas.StaffChannelList(
            channels=[
                schemas.StaffChannel(
                    **msgspec.structs.asdict(channel_view(channel, links[channel.id])),
                    role="owner" if owned else "moderator",
                )
                for channel, owned in rows
            ]
        )

    async def record_audit(
        self,
        session: AsyncSession,
        channel_id: int,
        actor_id: int | None,
        action: str,
        details: dict[str, Any],
    ) -> None:
        """Add to the channel's staff audit trail (append-only), for the domains that act on
        a channel's behalf (its automations)."""
        await channel_repository.audit(session, channel_id, actor_id, action, details)

    async def get(self, session: AsyncSession, channel_id: int) -> schemas.Channel:
        channel = await channel_or_404(session, channel_id)
        return channel_view(channel, await channel_repository.links(session, channel_id))

    async def get_by_slug(self, session: AsyncSession, slug: str) -> schemas.Channel:
        channel = await channel_repository.get_by_slug(session, slug)
        if channel is None:
            raise ChannelNotFound()
        return channel_view(channel, await channel_repository.links(session, channel.id))

    async def update(
        self,
        session: AsyncSession,
        principal: Principal,
        channel_id: int,
        data: schemas.ChannelUpdate,
    ) -> schemas.Channel:
        """The owner renames the channel and chooses whether Twitch's moderators run pools
        from chat; only an admin turns cash pools on or off."""
        channel = await channel_or_404(session, channel_id)
        require_owner(channel, principal)
        changes: dict[str, object] = {}
        if data.cash_enabled is not None and data.cash_enabled != channel.cash_enabled:
            if not principal.is_admin:
                raise CashNeedsApproval()
            changes["cash_enabled"] = data.cash_enabled
            channel.cash_enabled = data.cash_enabled
        moderators_run = data.twitch_moderators_run_pools
        if moderators_run is not None and moderators_run != channel.twitch_moderators_run_pools:
            changes["twitch_moderators_run_pools"] = moderators_run
            channel.twitch_moderators_run_pools = moderators_run
        name = data.name.strip() if data.name is not None else None
        if name is not None and name != channel.name:
            changes["name"] = {"from": channel.name, "to": name}
            channel.name = name
        if changes:
            await channel_repository.audit(
                session, channel.id, principal.user_id, "channel_updated", changes
            )
        return channel_view(channel, await channel_repository.links(session, channel_id))

    # -- platform links ----------------------------------------------------------------------

    async def add_link(
        self,
        session: AsyncSession,
        principal: Principal,
        channel_id: int,
        data: schemas.LinkCreate,
    ) -> schemas.Link:
        """Declare a platform channel as the channel's (unverified until OAuth). A platform
        channel belongs to one channel only. Twitch and Kick channels are not declared: they
        are linked through the platform's sign-in (``link_verified``)."""
        channel = await channel_or_404(session, channel_id)
        require_owner(channel, principal)
        if data.platform in OAUTH_ONLY:
            raise LinkNeedsOAuth(data.platform.value)
        link = ChannelLink(
            channel_id=channel.id, platform=data.platform, external_id=data.external_id.strip()
        )
        if not await channel_repository.add_link(session, link):
            raise PlatformChannelTaken()
        await channel_repository.audit(
            session,
            channel.id,
            principal.user_id,
            "link_added",
            {"link_id": link.id, "platform": link.platform.value, "external_id": link.external_id},
        )
        return link_view(link)

    async def link_verified(
        self, session: AsyncSession, channel: Channel, account: PlatformAccount
    ) -> schemas.Link:
        """Link the platform channel of ``account`` (its broadcaster) to ``channel``, verified:
        called once its owner proved the account through OAuth. The account must be the
        channel owner's. An unverified claim of that platform channel, by any channel, cannot
        block its real owner: it is replaced (and the replacement audited in both channels).
        Linking again refreshes the link (a relink after ``needs_relink``)."""
        if account.user_id != channel.owner_id:
            raise PlatformAccountNotOwners()
        existing = await channel_repository.link_of_platform_channel(
            session, account.platform, account.platform_user_id, for_update=True
        )
        replaced: dict[str, object] | None = None
        if existing is not None and existing.channel_id == channel.id:
            if (
                existing.status is LinkStatus.verified
                and existing.platform_account_id == account.id
            ):
                return link_view(existing)
            existing.status = LinkStatus.verified
            existing.platform_account_id = account.id
            await session.flush()
            await self._audit_verified(session, channel, existing, None)
            return link_view(existing)
        if existing is not None:
            if existing.verified:
                raise PlatformChannelTaken()
            replaced = {"link_id": existing.id, "channel_id": existing.channel_id}
            await channel_repository.delete_link(session, existing)
            await channel_repository.audit(
                session,
                existing.channel_id,
                None,
                "link_replaced_by_verified",
                {
                    "link_id": existing.id,
                    "platform": existing.platform.value,
                    "external_id": existing.external_id,
                    "verified_by_channel_id": channel.id,
                },
            )
        link = ChannelLink(
            channel_id=channel.id,
            platform=account.platform,
            external_id=account.platform_user_id,
            status=LinkStatus.verified,
            platform_account_id=account.id,
        )
        if not await channel_repository.add_link(session, link):
            raise PlatformChannelTaken()  # verified elsewhere by a concurrent sign-in
        await self._audit_verified(session, channel, link, replaced)
        return link_view(link)

    async def _audit_verified(
        self,
        session: AsyncSession,
        channel: Channel,
        link: ChannelLink,
        replaced: dict[str, object] | None,
    ) -> None:
        details: dict[str, object] = {
            "link_id": link.id,
            "platform": link.platform.value,
            "external_id": link.external_id,
            "platform_account_id": link.platform_account_id,
        }
        if replaced is not None:
            details["replaced_unverified"] = replaced
        await channel_repository.audit(
            session, channel.id, channel.owner_id, "link_verified", details
        )

    async def set_account_links_status(
        self, session: AsyncSession, platform_account_id: int, status: LinkStatus
    ) -> None:
        """Mark every verified link the platform account made ``needs_relink`` (its tokens
        failed) or ``verified`` again (relinked), audited in each channel."""
        for link in await channel_repository.set_links_status_of_account(
            session, platform_account_id, status
        ):
            await channel_repository.audit(
                session,
                link.channel_id,
                None,
                "link_status_changed",
                {"link_id": link.id, "status": status.value},
            )

    async def verified_channel(
        self, session: AsyncSession, platform: Platform, external_id: str
    ) -> Channel | None:
        """Our channel a platform channel belongs to, by a verified link only: an unverified
        claim never steers a channel's pools."""
        return await channel_repository.verified_channel_of(session, platform, external_id)

    async def remove_link(
        self, session: AsyncSession, principal: Principal, channel_id: int, link_id: int
    ) -> None:
        channel = await channel_or_404(session, channel_id)
        require_owner(channel, principal)
        link = await channel_repository.link(session, channel.id, link_id)
        if link is None:
            raise LinkNotFound()
        details = {
            "link_id": link.id,
            "platform": link.platform.value,
            "external_id": link.external_id,
        }
        await channel_repository.delete_link(session, link)
        await channel_repository.audit(
            session, channel.id, principal.user_id, "link_removed", details
        )

    # -- moderators --------------------------------------------------------------------------

    async def moderators(
        self, session: AsyncSession, principal: Principal, channel_id: int
    ) -> schemas.ModeratorList:
        channel = await channel_or_404(session, channel_id)
        await require_staff(session, channel, principal)
        rows = await channel_repository.moderators(session, channel.id)
        return schemas.ModeratorList(
            moderators=[
                schemas.Moderator(
                    user_id=moderator.user_id,
                    display_name=display_name,
                    added_by=moderator.added_by,
                    created_at=moderator.created_at,
                )
                for moderator, display_name in rows
            ]
        )

    async def find_members(
        self,
        session: AsyncSession,
        principal: Principal,
        channel_id: int,
        name_part: str,
        limit: int,
    ) -> schemas.MemberMatchList:
        """Members of the channel by part of their display name, for its staff: how a
        moderator or a grant's recipient is found without knowing their id. Only members, only
        display names (which the channel's chat and leaderboard show anyway): no email, and
        nothing about anyone who never joined."""
        channel = await channel_or_404(session, channel_id)
        await require_staff(session, channel, principal)
        rows = await channel_repository.find_members(session, channel.id, name_part.strip(), limit)
        return schemas.MemberMatchList(
            members=[
                schemas.MemberMatch(user_id=user_id, display_name=name, joined_at=joined)
                for user_id, name, joined in rows
            ]
        )

    async def add_moderator(
        self, session: AsyncSession, principal: Principal, channel_id: int, user_id: int
    ) -> schemas.ModeratorList:
        """Make a user a moderator (the owner only); adding one twice changes nothing."""
        channel = await channel_or_404(session, channel_id)
        require_owner(channel, principal)
        if await user_repository.get(session, user_id) is None:
            raise UserNotFound()
        if await channel_repository.add_moderator(session, channel.id, user_id, principal.user_id):
            await channel_repository.audit(
                session, channel.id, principal.user_id, "moderator_added", {"user_id": user_id}
            )
        return await self.moderators(session, principal, channel_id)

    async def remove_moderator(
        self, session: AsyncSession, principal: Principal, channel_id: int, user_id: int
    ) -> None:
        """Remove a moderator (the owner only); removing a non-moderator changes nothing."""
        channel = await channel_or_404(session, channel_id)
        require_owner(channel, principal)
        if await channel_repository.remove_moderator(session, channel.id, user_id):
            await channel_repository.audit(
                session, channel.id, principal.user_id, "moderator_removed", {"user_id": user_id}
            )

    # -- members and points ------------------------------------------------------------------

    async def join(
        self, session: AsyncSession, settings: Settings, user_id: int, channel_id: int
    ) -> schemas.Membership:
        """Join the channel; the first join ever credits the sign-up grant. Joining again
        answers with the same membership."""
        channel = await channel_or_404(session, channel_id)
        await self.ensure_member(session, settings, channel, user_id)
        return await self.membership(session, user_id, channel.id)

    async def ensure_member(
        self, session: AsyncSession, settings: Settings, channel: Channel, user_id: int
    ) -> bool:
        """Make the user a member (the first join ever credits the sign-up grant); True when
        they joined now."""
        if not await channel_repository.add_member(session, channel.id, user_id):
            return False
        await self._signup_grant(session, settings, channel.id, user_id)
        return True

    async def move_memberships(self, session: AsyncSession, from_user: int, to_user: int) -> int:
        """Hand a merged account's memberships to the account it merged into, without a second
        sign-up grant, and without a second daily bonus within the same 24 hours."""
        return await channel_repository.move_memberships(session, from_user, to_user)

    async def claim_daily_bonus(
        self, session: AsyncSession, settings: Settings, user_id: int, channel_id: int
    ) -> schemas.Membership:
        """Credit the daily bonus, at most once per 24 hours. The member row stays locked
        until the unit of work ends, so concurrent claims pay once."""
        channel = await channel_or_404(session, channel_id)
        member = await channel_repository.member(session, channel.id, user_id, for_update=True)
        if member is None:
            raise NotAMember()
        now = await channel_repository.now(session)
        ready_at = next_bonus_at(member)
        if ready_at is not None and now < ready_at:
            raise DailyBonusNotReady(ready_at)
        if settings.points_daily_bonus > 0:
            await self._mint(
                session,
                channel.id,
                user_id,
                settings.points_daily_bonus,
                idempotency_key=bonus_key(channel.id, user_id, member.last_bonus_at),
                memo={"channel_id": channel.id, "reason": "daily_bonus"},
            )
        member.last_bonus_at = now
        await session.flush()
        return await self.membership(session, user_id, channel.id)

    async def membership(
        self, session: AsyncSession, user_id: int, channel_id: int
    ) -> schemas.Membership:
        """The caller's membership and points balance in the channel."""
        channel = await channel_or_404(session, channel_id)
        member = await channel_repository.member(session, channel.id, user_id)
        if member is None:
            raise NotAMember()
        currency = points(channel.id)
        wallet = await ledger_repository.find_account(
            session, AccountKind.user_wallet, currency, user_id=user_id
        )
        balance = 0 if wallet is None else await ledger_service.balance(session, wallet)
        now = await channel_repository.now(session)
        ready_at = next_bonus_at(member)
        return schemas.Membership(
            channel_id=channel.id,
            user_id=user_id,
            joined_at=member.joined_at,
            last_bonus_at=member.last_bonus_at,
            next_bonus_at=ready_at if ready_at is not None and ready_at > now else None,
            currency=currency,
            balance=balance,
        )

    async def grant(
        self,
        session: AsyncSession,
        settings: Settings,
        principal: Principal,
        channel_id: int,
        data: schemas.GrantCreate,
        idempotency_key: str,
    ) -> schemas.Grant:
        """The owner or a moderator grants points to someone else, capped per grant and per
        granter and channel over 24 hours, and audited (``points_grants``). Retrying with the
        same key and body answers the same and counts once; the same key with another body is
        refused."""
        channel = await channel_or_404(session, channel_id)
        await require_staff(session, channel, principal)
        if data.user_id == principal.user_id:
            raise SelfGrant()
        if data.amount > settings.points_max_grant:
            raise InvalidInput("amount", f"must be at most {settings.points_max_grant} per grant")
        if await user_repository.get(session, data.user_id) is None:
            raise UserNotFound()
        key = grant_key(channel.id, principal.user_id, idempotency_key)
        # Held until commit: concurrent grants by this granter here read and add to the day's
        # total one at a time, so together they cannot pass the cap. Each read below is a new
        # statement, so it sees every grant committed before the lock was ours.
        await channel_repository.lock_grants_of(session, channel.id, principal.user_id)
        if await channel_repository.grant_posted_as(session, key) is None:
            granted = await channel_repository.granted_since(
                session, channel.id, principal.user_id, GRANT_CAP_WINDOW
            )
            if granted + data.amount > settings.points_grant_daily_cap:
                raise GrantCapReached(settings.points_grant_daily_cap, granted)
        # else a retry: the ledger answers it as before (or refuses another body), uncounted.
        posted = await self._mint(
            session,
            channel.id,
            data.user_id,
            data.amount,
            idempotency_key=key,
            memo={
                "channel_id": channel.id,
                "reason": "staff_grant",
                "granted_by": principal.user_id,
                "note": data.reason,
            },
        )
        if not posted.replayed:
            await channel_repository.add_grant(
                session,
                PointsGrant(
                    channel_id=channel.id,
                    granted_by=principal.user_id,
                    user_id=data.user_id,
                    amount=data.amount,
                    reason=data.reason,
                    transaction_id=posted.id,
                ),
            )
            await channel_repository.audit(
                session,
                channel.id,
                principal.user_id,
                "points_granted",
                {
                    "user_id": data.user_id,
                    "amount": data.amount,
                    "reason": data.reason,
                    "transaction_id": posted.id,
                },
            )
        return schemas.Grant(
            transaction_id=posted.id,
            channel_id=channel.id,
            user_id=data.user_id,
            amount=data.amount,
            currency=points(channel.id),
            reason=data.reason,
        )

    async def grants(
        self,
        session: AsyncSession,
        principal: Principal,
        channel_id: int,
        *,
        before: int | None,
        limit: int,
    ) -> schemas.GrantList:
        """The channel's staff grants, newest first (its owner, and platform admins)."""
        channel = await channel_or_404(session, channel_id)
        require_owner(channel, principal)
        rows = await channel_repository.grants(session, channel.id, before=before, limit=limit)
        return schemas.GrantList(
            grants=[
                schemas.GrantRecord(
                    id=row.id,
                    channel_id=row.channel_id,
                    granted_by=row.granted_by,
                    user_id=row.user_id,
                    amount=row.amount,
                    currency=points(row.channel_id),
                    reason=row.reason,
                    transaction_id=row.transaction_id,
                    created_at=row.created_at,
                )
                for row in rows
            ],
            next_before=rows[-1].id if len(rows) == limit else None,
        )

    async def _signup_grant(
        self, session: AsyncSession, settings: Settings, channel_id: int, user_id: int
    ) -> None:
        if settings.points_signup_grant <= 0:
            return
        try:
            await self._mint(
                session,
                channel_id,
                user_id,
                settings.points_signup_grant,
                idempotency_key=f"channel:{channel_id}:signup:{user_id}",
                memo={"channel_id": channel_id, "reason": "signup"},
            )
        except IdempotencyKeyReused:
            # Granted once already, when the grant had another size: once ever means once.
            return

    async def _mint(
        self,
        session: AsyncSession,
        channel_id: int,
        user_id: int,
        amount: int,
        *,
        idempotency_key: str,
        memo: dict[str, object],
    ) -> PostedTransaction:
        """Points from the channel's issuer (which goes negative) into the user's wallet."""
        currency = points(channel_id)
        issuer = await ledger_service.system_account(
            session, AccountKind.points_issuer, currency, ref_id=channel_id
        )
        wallet = await ledger_service.wallet(session, user_id, currency)
        return await ledger_service.transfer(
            session,
            issuer,
            wallet,
            amount,
            currency,
            key=idempotency_key,
            kind=TransactionKind.grant,
            memo=memo,
        )


channel_service = ChannelService()
