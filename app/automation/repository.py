"""SQL of automations: rules, their firings (one per rule and occurrence), stream sessions."""

from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.automation import (
    AutomationFiring,
    AutomationKind,
    AutomationRule,
    ChannelStream,
    FiringStatus,
    PlatformStream,
)
from app.models.channel import Platform

#: Before any event: every real event is newer.
DAWN = datetime.fromisoformat("1970-01-01T00:00:00+00:00")


class AutomationRepository:
    # -- rules ----------------------------------------------------------------------------------

    async def add(self, session: AsyncSession, rule: AutomationRule) -> None:
        session.add(rule)
        await session.flush()

    async def rule(
        self, session: AsyncSession, channel_id: int, rule_id: int
    ) -> AutomationRule | None:
        result = await session.execute(
            select(AutomationRule).where(
                AutomationRule.id == rule_id, AutomationRule.channel_id == channel_id
            )
        )
        return result.scalar_one_or_none()

    async def rules(
        self,
        session: AsyncSession,
        channel_id: int,
        kind: AutomationKind | None = None,
        *,
        enabled_only: bool = False,
    ) -> list[AutomationRule]:
        query = select(AutomationRule).where(AutomationRule.channel_id == channel_id)
        if kind is not None:
            query = query.where(AutomationRule.kind == kind)
        if enabled_only:
            query = query.where(AutomationRule.enabled)
        return list((await session.execute(query.order_by(AutomationRule.id))).scalars())

    async def delete(self, session: AsyncSession, rule: AutomationRule) -> None:
        await session.delete(rule)
        await session.flush()

    # -- firings --------------------------------------------------------------------------------

    async def claim_firing(
        self,
        session: AsyncSession,
        rule_id: int,
        occurrence: str,
        status: FiringStatus,
        details: dict[str, Any] | None = None,
    ) -> AutomationFiring | None:
        """Record that the rule fires for this occurrence; None when it already did (also when
        a concurrent handler just did: the unique index makes us wait for it)."""
        result = await session.execute(
            insert(AutomationFiring)
            .values(rule_id=rule_id, occurrence=occurrence, status=status, details=details or {})
            .on_conflict_do_nothing(index_elements=["rule_id", "occurrence"])
            .returning(AutomationFiring)
        )
        return result.scalar_one_or_none()

    async def firing_for_update(
        self, session: AsyncSession, rule_id: int, occurrence: str
    ) -> AutomationFiring | None:
        result = await session.execute(
            select(AutomationFiring)
            .where(AutomationFiring.rule_id == rule_id, AutomationFiring.occurrence == occurrence)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return result.scalar_one_or_none()

    async def firing_by_id_for_update(
        self, session: AsyncSession, firing_id: int
    ) -> tuple[AutomationFiring, AutomationRule] | None:
        result = await session.execute(
            select(AutomationFiring, AutomationRule)
            .join(AutomationRule, AutomationRule.id == AutomationFiring.rule_id)
            .where(AutomationFiring.id == firing_id)
            .with_for_update(of=AutomationFiring)
            .execution_options(populate_existing=True)
        )
        row = result.one_or_none()
        return None if row is None else (row[0], row[1])

    async def overdue_scheduled(self, session: AsyncSession) -> list[tuple[int, float]]:
        """Delayed opens still waiting, with the seconds left until they are due (0 if due)."""
        result = await session.execute(
            text(
                "SELECT f.id, greatest(0, extract(epoch FROM"
                "        f.created_at + make_interval(secs => r.delay_seconds) - now()))"
                "  FROM automation_firings f JOIN automation_rules r ON r.id = f.rule_id"
                " WHERE f.status = 'scheduled' ORDER BY f.id LIMIT 500"
            )
        )
        return [(int(firing_id), float(left)) for firing_id, left in result]

    # -- stream sessions ------------------------------------------------------------------------

    async def stream_for_update(self, session: AsyncSession, channel_id: int) -> ChannelStream:
        """The channel's stream session row, created offline the first time, locked until the
        unit of work ends: one platform event of a channel is handled at a time."""
        await session.execute(
            insert(ChannelStream)
            .values(channel_id=channel_id, online=False, event_at=DAWN)
            .on_conflict_do_nothing(index_elements=["channel_id"])
        )
        result = await session.execute(
            select(ChannelStream)
            .where(ChannelStream.channel_id == channel_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return result.scalar_one()

    async def stream(self, session: AsyncSession, channel_id: int) -> ChannelStream | None:
        return await session.get(ChannelStream, channel_id)

    async def platform_streams(
        self, session: AsyncSession, channel_id: int
    ) -> dict[Platform, PlatformStream]:
        """Each platform's side of the channel's stream, as its events told it (read under
        the channel's ``stream_for_update`` lock, which every writer of these rows holds)."""
        result = await session.execute(
            select(PlatformStream)
            .where(PlatformStream.channel_id == channel_id)
            .execution_options(populate_existing=True)
        )
        return {row.platform: row for row in result.scalars()}

    async def add_platform_stream(self, session: AsyncSession, row: PlatformStream) -> None:
        session.add(row)
        await session.flush()

    # -- pools the rules act on -----------------------------------------------------------------

    async def open_pools(self, session: AsyncSession, channel_id: int) -> list[int]:
        result = await session.execute(
            text("SELECT id FROM pools WHERE channel_id = :c AND status = 'open' ORDER BY id"),
            {"c": channel_id},
        )
        return [int(pool_id) for pool_id in result.scalars()]

    async def pool_status(self, session: AsyncSession, pool_id: int) -> str:
        result = await session.execute(
            text("SELECT status::text FROM pools WHERE id = :p"), {"p": pool_id}
        )
        return str(result.scalar_one())

    async def staff_holds_position(
        self, session: AsyncSession, pool_id: int, channel_id: int
    ) -> bool:
        """Whether the channel's owner or a moderator (or an account merged into one) has bet
        in the pool."""
        result = await session.execute(
            text(
                "WITH staff AS ("
                "  SELECT owner_id AS user_id FROM channels WHERE id = :c"
                "  UNION SELECT user_id FROM channel_moderators WHERE channel_id = :c)"
                " SELECT EXISTS (SELECT 1 FROM bets b JOIN users u ON u.id = b.user_id"
                "  WHERE b.pool_id = :p AND (b.user_id IN (SELECT user_id FROM staff)"
                "        OR u.merged_into IN (SELECT user_id FROM staff)))"
            ),
            {"p": pool_id, "c": channel_id},
        )
        return bool(result.scalar_one())


automation_repository = AutomationRepository()
