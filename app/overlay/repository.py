"""SQL of overlay keys."""

from collections.abc import Collection

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.channel import Channel
from app.models.overlay import OverlayKey


class OverlayRepository:
    async def lock_channel(self, session: AsyncSession, channel_id: int) -> None:
        """Hold the channel row until the unit of work ends: keys are counted and added by one
        transaction at a time."""
        await session.execute(select(Channel.id).where(Channel.id == channel_id).with_for_update())

    async def count_active(self, session: AsyncSession, channel_id: int) -> int:
        result = await session.execute(
            select(func.count())
            .select_from(OverlayKey)
            .where(OverlayKey.channel_id == channel_id, OverlayKey.revoked_at.is_(None))
        )
        return int(result.scalar_one())

    async def add(self, session: AsyncSession, key: OverlayKey) -> None:
        session.add(key)
        await session.flush()

    async def add_if_absent(
        self,
        session: AsyncSession,
        *,
        channel_id: int,
        label: str,
        key_hash: bytes,
        key_prefix: str,
        created_by: int,
    ) -> bool:
        """Insert a key unless one with this hash exists (revoked or not); False if it did."""
        result = await session.execute(
            insert(OverlayKey)
            .values(
                channel_id=channel_id,
                label=label,
                key_hash=key_hash,
                key_prefix=key_prefix,
                created_by=created_by,
            )
            .on_conflict_do_nothing(index_elements=["key_hash"])
            .returning(OverlayKey.id)
        )
        return result.scalar_one_or_none() is not None

    async def of_channel(self, session: AsyncSession, channel_id: int) -> list[OverlayKey]:
        """The channel's keys, revoked ones too, newest first."""
        result = await session.execute(
            select(OverlayKey)
            .where(OverlayKey.channel_id == channel_id)
            .order_by(OverlayKey.id.desc())
        )
        return list(result.scalars())

    async def get(self, session: AsyncSession, channel_id: int, key_id: int) -> OverlayKey | None:
        result = await session.execute(
            select(OverlayKey)
            .where(OverlayKey.id == key_id, OverlayKey.channel_id == channel_id)
            .execution_options(populate_existing=True)
        )
        return result.scalar_one_or_none()

    async def revoke(
        self, session: AsyncSession, channel_id: int, key_id: int
    ) -> OverlayKey | None:
        """Revoke the key if it is in use; the key, or None when it was not (already revoked,
        or no such key of this channel). Of two concurrent revocations one gets the key."""
        result = await session.execute(
            update(OverlayKey)
            .where(
                OverlayKey.id == key_id,
                OverlayKey.channel_id == channel_id,
                OverlayKey.revoked_at.is_(None),
            )
            .values(revoked_at=func.now())
            .returning(OverlayKey)
            .execution_options(synchronize_session=False, populate_existing=True)
        )
        return result.scalar_one_or_none()

    async def use(
        self, session: AsyncSession, key_hash: bytes, touch_after_seconds: int
    ) -> tuple[int, int] | None:
        """The (key id, channel id) of the unrevoked key with this hash, or None. One statement
        on the hash's unique index, which also records the use unless one was recorded less
        than ``touch_after_seconds`` ago (the row is written at most that often)."""
        result = await session.execute(
            text(
                "WITH found AS ("
                "  SELECT id, channel_id, last_used_at FROM overlay_keys"
                "   WHERE key_hash = :key_hash AND revoked_at IS NULL"
                "), touched AS ("
                "  UPDATE overlay_keys k SET last_used_at = now() FROM found"
                "   WHERE k.id = found.id AND (found.last_used_at IS NULL"
                "     OR found.last_used_at < now() - make_interval(secs => :interval))"
                "  RETURNING k.id"
                ") SELECT id, channel_id FROM found"
            ),
            {"key_hash": key_hash, "interval": touch_after_seconds},
        )
        row = result.one_or_none()
        return None if row is None else (int(row.id), int(row.channel_id))

    async def active_among(self, session: AsyncSession, key_ids: Collection[int]) -> set[int]:
        """Which of these keys still exist unrevoked."""
        if not key_ids:
            return set()
        result = await session.execute(
            select(OverlayKey.id).where(
                OverlayKey.id.in_(list(key_ids)), OverlayKey.revoked_at.is_(None)
            )
        )
        return set(result.scalars())


overlay_repository = OverlayRepository()
