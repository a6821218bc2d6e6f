"""Chat commands' SQL: the record that makes each message's command act once, the pool a
command means when it names none, and who a pool's result is told to in which chat."""

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.channel import ChannelLink, LinkStatus, Platform
from app.models.command import ChatCommand
from app.models.platform import PlatformAccount
from app.models.pool import Pool, PoolStatus
from app.models.user import User


class CommandRepository:
    async def claim(
        self,
        session: AsyncSession,
        *,
        channel_id: int,
        platform: Platform,
        message_id: str,
        platform_user_id: str,
        login: str,
        command: str,
        text: str,
    ) -> int | None:
        """Record a message's command; None when it was recorded already (another delivery of
        the same message). A concurrent claim waits for the first to commit, then gets None."""
        result = await session.execute(
            insert(ChatCommand)
            .values(
                channel_id=channel_id,
                platform=platform,
                message_id=message_id,
                platform_user_id=platform_user_id,
                login=login,
                command=command,
                text=text,
                result="pending",
            )
            .on_conflict_do_nothing(index_elements=["platform", "message_id"])
            .returning(ChatCommand.id)
        )
        return result.scalar_one_or_none()

    async def finish(
        self,
        session: AsyncSession,
        command_id: int,
        result: str,
        user_id: int | None,
        pool_id: int | None,
    ) -> None:
        await session.execute(
            update(ChatCommand)
            .where(ChatCommand.id == command_id)
            .values(result=result, user_id=user_id, pool_id=pool_id)
        )

    async def latest_pool(
        self, session: AsyncSession, channel_id: int, statuses: tuple[PoolStatus, ...]
    ) -> Pool | None:
        """The channel's most recently opened pool in one of ``statuses``."""
        result = await session.execute(
            select(Pool)
            .where(
                Pool.channel_id == channel_id,
                Pool.status.in_(statuses),
                Pool.opened_at.is_not(None),
            )
            .order_by(Pool.opened_at.desc(), Pool.id.desc())
            .limit(1)
        )
        return result.scalar_one_or_none()

    async def names_in_chat(
        self, session: AsyncSession, user_ids: list[int], platform: Platform
    ) -> dict[int, str]:
        """How each user is known in the platform's chat: their platform name when they have
        an identity there, else their name here."""
        result = await session.execute(
            select(User.id, func.coalesce(PlatformAccount.display_name, User.display_name))
            .outerjoin(
                PlatformAccount,
                (PlatformAccount.user_id == User.id) & (PlatformAccount.platform == platform),
            )
            .where(User.id.in_(user_ids))
        )
        return {user_id: name for user_id, name in result}

    async def holders(self, session: AsyncSession, user_ids: list[int]) -> dict[int, int]:
        """The account that holds each user's money now: the user, or the account a chat-only
        one merged into."""
        result = await session.execute(
            select(User.id, func.coalesce(User.merged_into, User.id)).where(User.id.in_(user_ids))
        )
        return {user_id: holder for user_id, holder in result}

    async def linked_chats(
        self, session: AsyncSession, channel_id: int
    ) -> list[tuple[Platform, str]]:
        """The platform channels verifiably linked to the channel: the chats it speaks in."""
        result = await session.execute(
            select(ChannelLink.platform, ChannelLink.external_id).where(
                ChannelLink.channel_id == channel_id,
                ChannelLink.status == LinkStatus.verified,
            )
        )
        return [(platform, external_id) for platform, external_id in result]

    async def commands(self, session: AsyncSession, channel_id: int) -> list[ChatCommand]:
        """The channel's recorded commands, oldest first."""
        result = await session.execute(
            select(ChatCommand).where(ChatCommand.channel_id == channel_id).order_by(ChatCommand.id)
        )
        return list(result.scalars())


command_repository = CommandRepository()
