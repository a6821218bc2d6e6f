"""All SQL of notifications: inbox rows (one at a time or set-based for a channel's members,
a pool's bettors), preferences, devices, and the push's delivery records."""

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.notification import (
    Device,
    Notification,
    NotificationPreferences,
    PushState,
)

#: Whether the user of preferences ``p`` is inside their quiet hours now (their local time;
#: a window may wrap midnight; start = end means none). NULL preferences: never.
QUIET = (
    "(p.quiet_start IS NOT NULL AND p.quiet_end IS NOT NULL AND p.quiet_start <> p.quiet_end"
    " AND CASE WHEN p.quiet_start < p.quiet_end"
    "  THEN CAST(now() AT TIME ZONE p.time_zone AS time) >= p.quiet_start"
    "   AND CAST(now() AT TIME ZONE p.time_zone AS time) < p.quiet_end"
    "  ELSE CAST(now() AT TIME ZONE p.time_zone AS time) >= p.quiet_start"
    "   OR CAST(now() AT TIME ZONE p.time_zone AS time) < p.quiet_end END)"
)

#: The push state of a new row of kind ``:kind`` for preferences ``p`` (a LEFT JOIN).
PUSH_STATE = "CASE WHEN CAST(:kind AS varchar) = ANY(p.push_off) THEN 'off' ELSE 'pending' END"

#: Every user id, as a [first, end) range: what a push job covers unless it is one range of an
#: event's pushes.
USERS_END = 2**63 - 1
ALL_USERS = (0, USERS_END)

#: The columns an inbox row is shown with, in :class:`Row`'s order.
COLUMNS = "id, user_id, kind, title, body, link, channel_id, pool_id, data, created_at, read_at"

_json = msgspec.json.Encoder()


def amount_text(amount: str, currency: str) -> str:
    """SQL of an amount as people read it: ``800 points``, ``8.00 USD``."""
    return (
        f"CASE WHEN currency_is_cash({currency}) THEN"
        f" CAST(div({amount}, 100) AS text) || '.' || lpad(CAST(mod({amount}, 100) AS text), 2, '0')"
        f" || ' ' || split_part({currency}, ':', 2)"
        f" ELSE CAST({amount} AS text) || ' points' END"
    )


@dataclass(frozen=True, slots=True)
class Row:
    id: int
    user_id: int
    kind: str
    title: str
    body: str
    link: str | None
    channel_id: int | None
    pool_id: int | None
    data: dict[str, Any]
    created_at: datetime
    read_at: datetime | None


@dataclass(frozen=True, slots=True)
class PushTarget:
    """One notification for one device, to push."""

    notification_id: int
    user_id: int
    device_id: int
    token: str
    kind: str
    title: str
    body: str
    link: str | None
    channel_id: int | None
    pool_id: int | None


@dataclass(frozen=True, slots=True)
class PoolFacts:
    id: int
    channel_id: int
    channel_slug: str
    channel_name: str
    title: str
    status: str
    created_by: int | None


def _rows(result: Any) -> list[Row]:
    return [Row(*row) for row in result.all()]


class NotificationRepository:
    # -- inbox rows ----------------------------------------------------------------------------

    async def insert_for_users(
        self,
        session: AsyncSession,
        user_ids: Sequence[int],
        *,
        kind: str,
        event_key: str,
        title: str,
        body: str,
        link: str | None,
        channel_id: int | None,
        pool_id: int | None,
        data: dict[str, Any],
    ) -> list[Row]:
        """One row per user for the event (none again for a user who has it)."""
        result = await session.execute(
            text(
                "INSERT INTO notifications (user_id, kind, event_key, title, body, link,"
                " channel_id, pool_id, data, push_state)"
                " SELECT u.user_id, :kind, :key, :title, :body, :link, :channel_id, :pool_id,"
                f"  CAST(:data AS jsonb), {PUSH_STATE}"
                " FROM unnest(CAST(:user_ids AS bigint[])) AS u(user_id)"
                " LEFT JOIN notification_preferences p ON p.user_id = u.user_id"
                " ON CONFLICT (event_key, user_id) DO NOTHING"
                f" RETURNING {COLUMNS}"
            ),
            {
                "user_ids": list(user_ids),
                "kind": kind,
                "key": event_key,
                "title": title[:200],
                "body": body[:500],
                "link": link,
                "channel_id": channel_id,
                "pool_id": pool_id,
                "data": _json.encode(data).decode(),
            },
        )
        return _rows(result)

    async def insert_for_members(
        self, session: AsyncSession, pool: PoolFacts, *, kind: str, event_key: str
    ) -> int:
        """ "A pool opened" for every member of its channel but whoever opened it: one
        set-based statement, whatever the channel's size; preferences applied in SQL."""
        result = await session.execute(
            text(
                "INSERT INTO notifications (user_id, kind, event_key, title, body, link,"
                " channel_id, pool_id, data, push_state)"
                " SELECT m.user_id, :kind, :key, :title, :body, :link, :channel_id, :pool_id,"
                f"  '{{}}'::jsonb, {PUSH_STATE}"
                " FROM channel_members m"
                " LEFT JOIN notification_preferences p ON p.user_id = m.user_id"
                " WHERE m.channel_id = :channel_id"
                "  AND m.user_id IS DISTINCT FROM CAST(:created_by AS bigint)"
                " ON CONFLICT (event_key, user_id) DO NOTHING"
            ),
            {
                "kind": kind,
                "key": event_key,
                "title": f"New pool in {pool.channel_name}"[:200],
                "body": f"{pool.title} — place your bet before it locks."[:500],
                "link": pool_link(pool),
                "channel_id": pool.channel_id,
                "pool_id": pool.id,
                "created_by": pool.created_by,
            },
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def insert_for_bettors(
        self, session: AsyncSession, pool: PoolFacts, *, kind: str, event_key: str, lead: int
    ) -> int:
        """ "Locking soon" for every bettor of the pool, set-based."""
        result = await session.execute(
            text(
                "INSERT INTO notifications (user_id, kind, event_key, title, body, link,"
                " channel_id, pool_id, data, push_state)"
                " SELECT b.user_id, :kind, :key, :title, :body, :link, :channel_id, :pool_id,"
                f"  '{{}}'::jsonb, {PUSH_STATE}"
                " FROM bets b LEFT JOIN notification_preferences p ON p.user_id = b.user_id"
                " WHERE b.pool_id = :pool_id"
                " ON CONFLICT (event_key, user_id) DO NOTHING"
            ),
            {
                "kind": kind,
                "key": event_key,
                "title": f"Locking soon: {pool.title}"[:200],
                "body": f"Betting closes in about {lead} seconds in {pool.channel_name}."[:500],
                "link": pool_link(pool),
                "channel_id": pool.channel_id,
                "pool_id": pool.id,
            },
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def insert_pool_results(
        self, session: AsyncSession, pool_id: int, event_key: str, *, refund: bool
    ) -> int:
        """Each bettor's result of a paid pool (won, lost or refunded, with stake and payout),
        set-based: one row per bettor, none again for a bettor who has it."""
        paid = amount_text("coalesce(b.payout, 0)", "pl.currency")
        stake = amount_text("b.amount", "pl.currency")
        result = await session.execute(
            text(
                "INSERT INTO notifications (user_id, kind, event_key, title, body, link,"
                " channel_id, pool_id, data, push_state)"
                " SELECT b.user_id, k.kind, :key,"
                "  left(CASE k.kind"
                f"   WHEN 'pool.won' THEN 'You won ' || {paid} || '!'"
                "   WHEN 'pool.refunded' THEN 'Refunded: ' || pl.title"
                "   ELSE pl.title || ': ' || coalesce(w.label, '?') || ' won' END, 200),"
                "  left(CASE k.kind"
                f"   WHEN 'pool.won' THEN pl.title || ' — your ' || {stake} || ' on ' || o.label"
                f"    || ' paid ' || {paid} || '.'"
                f"   WHEN 'pool.refunded' THEN pl.title || ' — your ' || {stake}"
                "    || ' came back to your wallet.'"
                f"   ELSE 'Your ' || {stake} || ' on ' || o.label || ' did not win this time.'"
                "   END, 500),"
                "  '/c/' || c.slug || '?pool=' || pl.id, pl.channel_id, pl.id,"
                "  jsonb_build_object('currency', pl.currency, 'stake', b.amount,"
                "   'paid', coalesce(b.payout, 0), 'outcome_id', b.outcome_id),"
                "  CASE WHEN k.kind = ANY(p.push_off) THEN 'off' ELSE 'pending' END"
                " FROM bets b JOIN pools pl ON pl.id = b.pool_id"
                " JOIN channels c ON c.id = pl.channel_id"
                " JOIN pool_outcomes o ON o.id = b.outcome_id"
                " LEFT JOIN pool_outcomes w ON w.id = pl.winning_outcome_id"
                " CROSS JOIN LATERAL (SELECT CAST(CASE"
                "  WHEN :refund OR pl.status = 'refunded' THEN 'pool.refunded'"
                "  WHEN b.outcome_id = pl.winning_outcome_id THEN 'pool.won'"
                "  ELSE 'pool.lost' END AS varchar) AS kind) k"
                " LEFT JOIN notification_preferences p ON p.user_id = b.user_id"
                " WHERE b.pool_id = :pool_id"
                " ON CONFLICT (event_key, user_id) DO NOTHING"
            ),
            {"pool_id": pool_id, "key": event_key, "refund": refund},
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def of_event(self, session: AsyncSession, event_key: str) -> list[Row]:
        result = await session.execute(
            text(f"SELECT {COLUMNS} FROM notifications WHERE event_key = :key ORDER BY user_id"),
            {"key": event_key},
        )
        return _rows(result)

    async def page(
        self, session: AsyncSession, user_id: int, before_id: int | None, limit: int
    ) -> list[Row]:
        result = await session.execute(
            text(
                f"SELECT {COLUMNS} FROM notifications WHERE user_id = :user"
                " AND (CAST(:before AS bigint) IS NULL OR id < :before)"
                " ORDER BY id DESC LIMIT :limit"
            ),
            {"user": user_id, "before": before_id, "limit": limit},
        )
        return _rows(result)

    async def unread(self, session: AsyncSession, user_id: int) -> int:
        result = await session.execute(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        )
        return int(result.scalar_one())

    async def mark_read(
        self, session: AsyncSession, user_id: int, notification_id: int
    ) -> Row | None:
        result = await session.execute(
            text(
                "UPDATE notifications SET read_at = coalesce(read_at, now())"
                " WHERE id = :id AND user_id = :user"
                f" RETURNING {COLUMNS}"
            ),
            {"id": notification_id, "user": user_id},
        )
        rows = _rows(result)
        return rows[0] if rows else None

    async def mark_all_read(self, session: AsyncSession, user_id: int) -> int:
        result = await session.execute(
            update(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
            .values(read_at=func.now())
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    # -- fan-out events ------------------------------------------------------------------------

    async def pool_facts(self, session: AsyncSession, pool_id: int) -> PoolFacts | None:
        result = await session.execute(
            text(
                "SELECT pl.id, pl.channel_id, c.slug, c.name, pl.title, CAST(pl.status AS text),"
                " pl.created_by FROM pools pl JOIN channels c ON c.id = pl.channel_id"
                " WHERE pl.id = :id"
            ),
            {"id": pool_id},
        )
        row = result.first()
        return PoolFacts(*row) if row else None

    async def add_event(self, session: AsyncSession, key: str, kind: str) -> bool:
        """Record a fan-out; False when it was done already."""
        result = await session.execute(
            text(
                "INSERT INTO notification_events (key, kind) VALUES (:key, :kind)"
                " ON CONFLICT (key) DO NOTHING RETURNING key"
            ),
            {"key": key, "kind": kind},
        )
        return result.scalar_one_or_none() is not None

    async def count_event(self, session: AsyncSession, key: str, recipients: int) -> None:
        await session.execute(
            text("UPDATE notification_events SET recipients = :n WHERE key = :key"),
            {"key": key, "n": recipients},
        )

    async def pools_locking_soon(self, session: AsyncSession, lead_seconds: int) -> list[int]:
        """Open pools closing within the lead whose bettors were not told yet."""
        result = await session.execute(
            text(
                "SELECT pl.id FROM pools pl WHERE pl.status = 'open'"
                " AND pl.closes_at <= now() + make_interval(secs => :lead)"
                " AND pl.closes_at > now()"
                " AND NOT EXISTS (SELECT 1 FROM notification_events e"
                "  WHERE e.key = 'pool.locking:' || pl.id)"
                " ORDER BY pl.closes_at LIMIT 100"
            ),
            {"lead": lead_seconds},
        )
        return list(result.scalars())

    async def pools_opened_untold(self, session: AsyncSession) -> list[int]:
        """Pools opened in the last ten minutes whose fan-out never ran (a lost job)."""
        result = await session.execute(
            text(
                "SELECT pl.id FROM pools pl WHERE pl.status = 'open'"
                " AND pl.opened_at > now() - interval '10 minutes'"
                " AND pl.opened_at < now() - interval '30 seconds'"
                " AND NOT EXISTS (SELECT 1 FROM notification_events e"
                "  WHERE e.key = 'pool.opened:' || pl.id)"
                " LIMIT 100"
            )
        )
        return list(result.scalars())

    # -- preferences ---------------------------------------------------------------------------

    async def preferences(
        self, session: AsyncSession, user_id: int
    ) -> NotificationPreferences | None:
        return await session.get(NotificationPreferences, user_id)

    async def preferences_for_update(
        self, session: AsyncSession, user_id: int
    ) -> NotificationPreferences:
        await session.execute(
            insert(NotificationPreferences)
            .values(user_id=user_id)
            .on_conflict_do_nothing(index_elements=["user_id"])
        )
        result = await session.execute(
            select(NotificationPreferences)
            .where(NotificationPreferences.user_id == user_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return result.scalar_one()

    async def time_zone_known(self, session: AsyncSession, name: str) -> bool:
        """Whether PostgreSQL's own zone data knows the zone (quiet hours are computed there)."""
        result = await session.execute(
            text("SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = :name)"),
            {"name": name},
        )
        return bool(result.scalar_one())

    # -- devices -------------------------------------------------------------------------------

    async def upsert_device(
        self, session: AsyncSession, user_id: int, token: str, platform: str
    ) -> Device:
        """Register the token to the user; a token another user had moves to this one."""
        result = await session.execute(
            insert(Device)
            .values(user_id=user_id, token=token, platform=platform)
            .on_conflict_do_update(
                index_elements=["token"],
                set_={"user_id": user_id, "platform": platform, "last_seen_at": func.now()},
            )
            .returning(Device)
            .execution_options(populate_existing=True)
        )
        return result.scalar_one()

    async def trim_devices(self, session: AsyncSession, user_id: int, keep: int) -> None:
        """Forget the user's least recently seen devices beyond ``keep``."""
        await session.execute(
            text(
                "DELETE FROM devices WHERE user_id = :user AND id NOT IN ("
                " SELECT id FROM devices WHERE user_id = :user"
                " ORDER BY last_seen_at DESC, id DESC LIMIT :keep)"
            ),
            {"user": user_id, "keep": keep},
        )

    async def devices(self, session: AsyncSession, user_id: int) -> list[Device]:
        result = await session.execute(
            select(Device).where(Device.user_id == user_id).order_by(Device.id)
        )
        return list(result.scalars())

    async def delete_device(self, session: AsyncSession, user_id: int, device_id: int) -> bool:
        result = await session.execute(
            delete(Device).where(Device.id == device_id, Device.user_id == user_id)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def delete_devices(self, session: AsyncSession, device_ids: Sequence[int]) -> None:
        if device_ids:
            await session.execute(delete(Device).where(Device.id.in_(device_ids)))

    # -- pushes --------------------------------------------------------------------------------

    async def push_page(
        self,
        session: AsyncSession,
        event_key: str,
        after: tuple[int, int],
        limit: int,
        max_attempts: int,
        before_user: int = USERS_END,
    ) -> list[PushTarget]:
        """The next devices to push the event's notifications to, by (user, device) keyset
        (users below ``before_user``): pending rows of users outside their quiet hours, devices
        never claimed for that notification or refused for now with attempts left."""
        result = await session.execute(
            text(
                "SELECT n.id, n.user_id, d.id, d.token, n.kind, n.title, n.body, n.link,"
                " n.channel_id, n.pool_id"
                " FROM notifications n"
                " JOIN devices d ON d.user_id = n.user_id"
                " LEFT JOIN notification_preferences p ON p.user_id = n.user_id"
                " LEFT JOIN notification_deliveries x"
                "  ON x.notification_id = n.id AND x.device_id = d.id"
                " WHERE n.event_key = :key AND n.push_state = 'pending'"
                "  AND (n.user_id, d.id) > (:after_user, :after_device)"
                "  AND n.user_id < :before_user"
                f"  AND NOT {QUIET}"
                "  AND (x.notification_id IS NULL"
                "   OR (x.status = 'retry' AND x.attempts < :max_attempts))"
                " ORDER BY n.user_id, d.id LIMIT :limit"
            ),
            {
                "key": event_key,
                "after_user": after[0],
                "after_device": after[1],
                "before_user": before_user,
                "limit": limit,
                "max_attempts": max_attempts,
            },
        )
        return [PushTarget(*row) for row in result.all()]

    async def claim(
        self, session: AsyncSession, pairs: Sequence[tuple[int, int]], max_attempts: int
    ) -> set[tuple[int, int]]:
        """Claim each (notification, device) for one send: new ones, and ones FCM refused for
        now. Of concurrent claimers, exactly one gets each pair."""
        if not pairs:
            return set()
        result = await session.execute(
            text(
                "INSERT INTO notification_deliveries (notification_id, device_id, status)"
                " SELECT * , 'sending' FROM unnest(CAST(:n AS bigint[]), CAST(:d AS bigint[]))"
                " ON CONFLICT (notification_id, device_id) DO UPDATE"
                " SET status = 'sending', attempts = notification_deliveries.attempts + 1,"
                "  updated_at = now()"
                " WHERE notification_deliveries.status = 'retry'"
                "  AND notification_deliveries.attempts < :max_attempts"
                " RETURNING notification_id, device_id"
            ),
            {"n": [n for n, _ in pairs], "d": [d for _, d in pairs], "max_attempts": max_attempts},
        )
        return {(int(n), int(d)) for n, d in result.all()}

    async def record(
        self,
        session: AsyncSession,
        results: Sequence[tuple[int, int, str, str | None, str | None]],
        max_attempts: int,
    ) -> None:
        """What FCM answered: (notification, device, status, message id, error) each; a push
        refused for now on its last attempt is given up. A notification with a push to retry
        stays pending (again, if a run that covered its user marked it done meanwhile)."""
        if not results:
            return
        await session.execute(
            text(
                "UPDATE notification_deliveries x SET status = CASE"
                "  WHEN v.status = 'retry' AND x.attempts >= :max_attempts THEN 'failed'"
                "  ELSE v.status END,"
                " message_id = v.message_id, error = v.error, updated_at = now()"
                " FROM unnest(CAST(:n AS bigint[]), CAST(:d AS bigint[]),"
                "  CAST(:s AS varchar[]), CAST(:m AS varchar[]), CAST(:e AS varchar[]))"
                "  AS v(notification_id, device_id, status, message_id, error)"
                " WHERE x.notification_id = v.notification_id AND x.device_id = v.device_id"
            ),
            {
                "n": [r[0] for r in results],
                "d": [r[1] for r in results],
                "s": [r[2] for r in results],
                "m": [r[3] for r in results],
                "e": [r[4] for r in results],
                "max_attempts": max_attempts,
            },
        )
        retried = [r[0] for r in results if r[2] == "retry"]
        if retried:
            await session.execute(
                text(
                    "UPDATE notifications n SET push_state = 'pending'"
                    " WHERE n.id = ANY(CAST(:ids AS bigint[])) AND n.push_state = 'done'"
                    " AND EXISTS (SELECT 1 FROM notification_deliveries x"
                    "  WHERE x.notification_id = n.id AND x.status = 'retry')"
                ),
                {"ids": retried},
            )

    async def finish_event(
        self, session: AsyncSession, event_key: str, users: tuple[int, int] = ALL_USERS
    ) -> None:
        """After a full pass over the users in ``users`` ([first, end)): their pending rows of
        the event are done, or held for users in their quiet hours; rows with a push still to
        retry stay pending."""
        await session.execute(
            text(
                "UPDATE notifications n SET push_state = CASE WHEN EXISTS ("
                f"  SELECT 1 FROM notification_preferences p WHERE p.user_id = n.user_id AND {QUIET}"
                " ) THEN 'held' ELSE 'done' END"
                " WHERE n.event_key = :key AND n.push_state = 'pending'"
                " AND n.user_id >= :first AND n.user_id < :end"
                " AND NOT EXISTS (SELECT 1 FROM notification_deliveries x"
                "  WHERE x.notification_id = n.id AND x.status = 'retry')"
            ),
            {"key": event_key, "first": users[0], "end": users[1]},
        )

    async def retries_left(
        self, session: AsyncSession, event_key: str, users: tuple[int, int] = ALL_USERS
    ) -> int:
        result = await session.execute(
            text(
                "SELECT count(*) FROM notification_deliveries x"
                " JOIN notifications n ON n.id = x.notification_id"
                " WHERE n.event_key = :key AND x.status = 'retry'"
                " AND n.user_id >= :first AND n.user_id < :end"
            ),
            {"key": event_key, "first": users[0], "end": users[1]},
        )
        return int(result.scalar_one())

    async def pending_count(self, session: AsyncSession, event_key: str) -> int:
        """The event's rows whose pushes are still to go."""
        result = await session.execute(
            text(
                "SELECT count(*) FROM notifications"
                " WHERE event_key = :key AND push_state = 'pending'"
            ),
            {"key": event_key},
        )
        return int(result.scalar_one())

    async def user_ranges(
        self, session: AsyncSession, event_key: str, parts: int
    ) -> list[tuple[int, int]]:
        """The users of the event's pending rows in ``parts`` ranges of about as many rows each,
        as [first, end) pairs that cover every user id between them: the first starts at 0,
        the last ends at the largest id there is."""
        result = await session.execute(
            text(
                "SELECT min(user_id) FROM ("
                " SELECT user_id, ntile(:parts) OVER (ORDER BY user_id) AS part"
                " FROM notifications WHERE event_key = :key AND push_state = 'pending'"
                ") AS pending GROUP BY part ORDER BY 1"
            ),
            {"key": event_key, "parts": parts},
        )
        starts = [int(first) for first in result.scalars()]
        if not starts:
            return []
        starts[0] = ALL_USERS[0]
        return list(itertools.pairwise([*starts, ALL_USERS[1]]))

    async def release_held(self, session: AsyncSession) -> list[str]:
        """Held rows whose users' quiet hours are over become pending again; their events."""
        result = await session.execute(
            text(
                "WITH released AS ("
                " UPDATE notifications n SET push_state = 'pending'"
                " WHERE n.push_state = 'held' AND n.created_at > now() - interval '2 days'"
                " AND NOT EXISTS (SELECT 1 FROM notification_preferences p"
                f"  WHERE p.user_id = n.user_id AND {QUIET})"
                " RETURNING n.event_key"
                ") SELECT DISTINCT event_key FROM released"
            )
        )
        return list(result.scalars())

    async def stalled_events(self, session: AsyncSession) -> list[str]:
        """Events with rows still pending a minute on (a lost job, retries left over)."""
        result = await session.execute(
            text(
                "SELECT DISTINCT event_key FROM notifications"
                " WHERE push_state IN ('pending', 'held') AND push_state = 'pending'"
                " AND created_at < now() - interval '1 minute'"
                " AND created_at > now() - interval '1 day'"
                " LIMIT 1000"
            )
        )
        return list(result.scalars())

    async def set_push_state(self, session: AsyncSession, event_key: str, state: PushState) -> None:
        await session.execute(
            update(Notification)
            .where(
                Notification.event_key == event_key,
                Notification.push_state == PushState.pending.value,
            )
            .values(push_state=state.value)
        )


def pool_link(pool: PoolFacts) -> str:
    return f"/c/{pool.channel_slug}?pool={pool.id}"


notification_repository = NotificationRepository()
