"""SQL of channels: the channels themselves, platform links, moderators, members and audit."""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.pg import constraint_name
from app.models.channel import (
    Channel,
    ChannelAudit,
    ChannelLink,
    ChannelMember,
    ChannelModerator,
    LinkStatus,
    Platform,
    PointsGrant,
)
from app.models.ledger import LedgerTransaction
from app.models.user import User

SLUG_UNIQUE = "uq_channels_slug"
PLATFORM_CHANNEL_UNIQUE = "uq_channel_links_platform_external_id"


class ChannelRepository:
    async def get(self, session: AsyncSession, channel_id: int) -> Channel | None:
        return await session.get(Channel, channel_id)

    async def get_by_slug(self, session: AsyncSession, slug: str) -> Channel | None:
        result = await session.execute(select(Channel).where(Channel.slug == slug))
        return result.scalar_one_or_none()

    async def is_moderator(self, session: AsyncSession, channel_id: int, user_id: int) -> bool:
        result = await session.execute(
            select(ChannelModerator.user_id).where(
                ChannelModerator.channel_id == channel_id, ChannelModerator.user_id == user_id
            )
        )
        return result.scalar_one_or_none() is not None

    async def staffed_by(self, session: AsyncSession, user_id: int) -> list[tuple[Channel, bool]]:
        """The channels the user owns or moderates, each with whether they own it: owned
        first, then by name."""
        moderated = select(ChannelModerator.channel_id).where(ChannelModerator.user_id == user_id)
        owns = Channel.owner_id == user_id
        result = await session.execute(
            select(Channel, owns)
            .where(or_(owns, Channel.id.in_(moderated)))
            .order_by(owns.desc(), func.lower(Channel.name), Channel.id)
        )
        return [(channel, bool(owned)) for channel, owned in result]

    async def add_channel(self, session: AsyncSession, channel: Channel) -> bool:
        """Insert the channel; False when its slug is taken (also by a concurrent insert,
        which the unique index makes us wait for)."""
        return await self._insert_unique(session, channel, SLUG_UNIQUE)

    # -- platform links ----------------------------------------------------------------------

    async def links(self, session: AsyncSession, channel_id: int) -> list[ChannelLink]:
        result = await session.execute(
            select(ChannelLink).where(ChannelLink.channel_id == channel_id).order_by(ChannelLink.id)
        )
        return list(result.scalars())

    async def links_of(
        self, session: AsyncSession, channel_ids: list[int]
    ) -> dict[int, list[ChannelLink]]:
        """The links of several channels at once, by channel."""
        result = await session.execute(
            select(ChannelLink)
            .where(ChannelLink.channel_id.in_(channel_ids))
            .order_by(ChannelLink.id)
        )
        grouped: dict[int, list[ChannelLink]] = {channel_id: [] for channel_id in channel_ids}
        for link in result.scalars():
            grouped[link.channel_id].append(link)
        return grouped

    async def add_link(self, session: AsyncSession, link: ChannelLink) -> bool:
        """Insert the link; False when that platform channel is linked already, anywhere."""
        return await self._insert_unique(session, link, PLATFORM_CHANNEL_UNIQUE)

    async def link(
        self, session: AsyncSession, channel_id: int, link_id: int
    ) -> ChannelLink | None:
        result = await session.execute(
            select(ChannelLink).where(
                ChannelLink.id == link_id, ChannelLink.channel_id == channel_id
            )
        )
        return result.scalar_one_or_none()

    async def link_of_platform_channel(
        self, session: AsyncSession, platform: Platform, external_id: str, *, for_update: bool
    ) -> ChannelLink | None:
        """The link of a platform channel, wherever it is (locked when asked)."""
        query = select(ChannelLink).where(
            ChannelLink.platform == platform, ChannelLink.external_id == external_id
        )
        if for_update:
            query = query.with_for_update().execution_options(populate_existing=True)
        return (await session.execute(query)).scalar_one_or_none()

    async def verified_channel_of(
        self, session: AsyncSession, platform: Platform, external_id: str
    ) -> Channel | None:
        """The channel a platform channel is linked to by a verified link."""
        result = await session.execute(
            select(Channel)
            .join(ChannelLink, ChannelLink.channel_id == Channel.id)
            .where(
                ChannelLink.platform == platform,
                ChannelLink.external_id == external_id,
                ChannelLink.status != LinkStatus.unverified,
            )
        )
        return result.scalar_one_or_none()

    async def set_links_status_of_account(
        self, session: AsyncSession, platform_account_id: int, status: LinkStatus
    ) -> list[ChannelLink]:
        """Set the status of every verified link the platform account made; the links changed."""
        result = await session.execute(
            update(ChannelLink)
            .where(
                ChannelLink.platform_account_id == platform_account_id,
                ChannelLink.status != LinkStatus.unverified,
                ChannelLink.status != status,
            )
            .values(status=status)
            .returning(ChannelLink)
            .execution_options(synchronize_session=False)
        )
        return list(result.scalars())

    async def delete_link(self, session: AsyncSession, link: ChannelLink) -> None:
        await session.delete(link)
        await session.flush()

    # -- moderators --------------------------------------------------------------------------

    async def moderators(
        self, session: AsyncSession, channel_id: int
    ) -> list[tuple[ChannelModerator, str]]:
        """The channel's moderators with their display names, oldest first."""
        result = await session.execute(
            select(ChannelModerator, User.display_name)
            .join(User, User.id == ChannelModerator.user_id)
            .where(ChannelModerator.channel_id == channel_id)
            .order_by(ChannelModerator.created_at, ChannelModerator.user_id)
        )
        return [(moderator, name) for moderator, name in result]

    async def add_moderator(
        self, session: AsyncSession, channel_id: int, user_id: int, added_by: int
    ) -> bool:
        """Make the user a moderator; False when they already were."""
        result = await session.execute(
            insert(ChannelModerator)
            .values(channel_id=channel_id, user_id=user_id, added_by=added_by)
            .on_conflict_do_nothing(index_elements=["channel_id", "user_id"])
            .returning(ChannelModerator.user_id)
        )
        return result.scalar_one_or_none() is not None

    async def remove_moderator(self, session: AsyncSession, channel_id: int, user_id: int) -> bool:
        """False when the user was not a moderator."""
        result = await session.execute(
            delete(ChannelModerator)
            .where(ChannelModerator.channel_id == channel_id, ChannelModerator.user_id == user_id)
            .returning(ChannelModerator.user_id)
        )
        return result.scalar_one_or_none() is not None

    # -- members -----------------------------------------------------------------------------

    async def add_member(self, session: AsyncSession, channel_id: int, user_id: int) -> bool:
        """Make the user a member; False when they already were (a concurrent join of the
        same user waits for the first to commit, then finds the row)."""
        result = await session.execute(
            insert(ChannelMember)
            .values(channel_id=channel_id, user_id=user_id)
            .on_conflict_do_nothing(index_elements=["channel_id", "user_id"])
            .returning(ChannelMember.user_id)
        )
        return result.scalar_one_or_none() is not None

    async def find_members(
        self, session: AsyncSession, channel_id: int, name_part: str, limit: int
    ) -> list[tuple[int, str, datetime]]:
        """Members whose display name contains ``name_part`` (any case), those it starts
        first, then by name: (user id, display name, joined at)."""
        needle = name_part.lower()
        name = func.lower(User.display_name)
        result = await session.execute(
            select(User.id, User.display_name, ChannelMember.joined_at)
            .join(ChannelMember, ChannelMember.user_id == User.id)
            .where(ChannelMember.channel_id == channel_id, func.strpos(name, needle) > 0)
            .order_by(func.strpos(name, needle) != 1, name, User.id)
            .limit(limit)
        )
        return [(int(user_id), str(display), joined) for user_id, display, joined in result]

    async def move_memberships(self, session: AsyncSession, from_user: int, to_user: int) -> int:
        """Give ``to_user`` every membership of ``from_user`` (no grant: the sign-up grant was
        paid once already), keeping the earlier join and the later bonus claim where both
        were members; ``from_user`` is a member of nothing afterwards. Returns how many."""
        moved = await session.execute(
            text(
                "INSERT INTO channel_members (channel_id, user_id, joined_at, last_bonus_at)"
                " SELECT channel_id, :to_user, joined_at, last_bonus_at FROM channel_members"
                "  WHERE user_id = :from_user"
                " ON CONFLICT (channel_id, user_id) DO UPDATE"
                "  SET joined_at = least(channel_members.joined_at, excluded.joined_at),"
                "      last_bonus_at = greatest(channel_members.last_bonus_at,"
                "                               excluded.last_bonus_at)"
            ),
            {"from_user": from_user, "to_user": to_user},
        )
        await session.execute(delete(ChannelMember).where(ChannelMember.user_id == from_user))
        return int(getattr(moved, "rowcount", 0) or 0)

    async def member(
        self, session: AsyncSession, channel_id: int, user_id: int, *, for_update: bool = False
    ) -> ChannelMember | None:
        """The membership, freshly read; ``for_update`` locks it until the unit of work ends
        (serialises daily-bonus claims)."""
        query = (
            select(ChannelMember)
            .where(ChannelMember.channel_id == channel_id, ChannelMember.user_id == user_id)
            .execution_options(populate_existing=True)
        )
        if for_update:
            query = query.with_for_update()
        return (await session.execute(query)).scalar_one_or_none()

    # -- audit -------------------------------------------------------------------------------

    async def audit(
        self,
        session: AsyncSession,
        channel_id: int,
        actor_id: int | None,
        action: str,
        details: dict[str, Any],
    ) -> None:
        session.add(
            ChannelAudit(channel_id=channel_id, actor_id=actor_id, action=action, details=details)
        )
        await session.flush()

    async def audit_trail(self, session: AsyncSession, channel_id: int) -> list[ChannelAudit]:
        result = await session.execute(
            select(ChannelAudit)
            .where(ChannelAudit.channel_id == channel_id)
            .order_by(ChannelAudit.id)
        )
        return list(result.scalars())

    # -- points grants -----------------------------------------------------------------------

    async def lock_grants_of(self, session: AsyncSession, channel_id: int, granter_id: int) -> None:
        """Hold one granter's grants in one channel until the unit of work ends, so their
        daily total is read and added to by one transaction at a time. An advisory lock: no
        row stands for "this member of staff in this channel" (owners are no moderator row);
        a hash collision only makes two granters wait for each other."""
        await session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:lock, 0))"),
            {"lock": f"points_grant:{channel_id}:{granter_id}"},
        )

    async def grant_posted_as(
        self, session: AsyncSession, idempotency_key: str
    ) -> PointsGrant | None:
        """The grant recorded under this ledger idempotency key, if any (a retry)."""
        result = await session.execute(
            select(PointsGrant)
            .join(LedgerTransaction, LedgerTransaction.id == PointsGrant.transaction_id)
            .where(LedgerTransaction.idempotency_key == idempotency_key)
        )
        return result.scalar_one_or_none()

    async def granted_since(
        self, session: AsyncSession, channel_id: int, granter_id: int, window: timedelta
    ) -> int:
        """What the granter granted in the channel over the last ``window``."""
        result = await session.execute(
            select(func.coalesce(func.sum(PointsGrant.amount), 0)).where(
                PointsGrant.channel_id == channel_id,
                PointsGrant.granted_by == granter_id,
                PointsGrant.created_at > func.now() - window,
            )
        )
        return int(result.scalar_one())

    async def add_grant(self, session: AsyncSession, grant: PointsGrant) -> None:
        session.add(grant)
        await session.flush()

    async def grants(
        self, session: AsyncSession, channel_id: int, *, before: int | None, limit: int
    ) -> list[PointsGrant]:
        """The channel's grants, newest first, older than grant ``before`` if given."""
        query = select(PointsGrant).where(PointsGrant.channel_id == channel_id)
        if before is not None:
            query = query.where(PointsGrant.id < before)
        result = await session.execute(query.order_by(PointsGrant.id.desc()).limit(limit))
        return list(result.scalars())

    async def now(self, session: AsyncSession) -> datetime:
        result = await session.execute(select(func.now()))
        return result.scalar_one()

    async def _insert_unique(
        self, session: AsyncSession, row: Channel | ChannelLink, constraint: str
    ) -> bool:
        # A savepoint, so a refused insert leaves the unit of work usable.
        try:
            async with session.begin_nested():
                session.add(row)
        except IntegrityError as error:
            if constraint_name(error) == constraint:
                return False
            raise
        return True


channel_repository = ChannelRepository()
