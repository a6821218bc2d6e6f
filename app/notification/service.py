"""Notifications: every notice a user gets is a row in their inbox (written in the transaction
of the change it reports, or set-based by a job: a whole channel's, a paid pool's bettors'), a
``notification`` socket event after commit, and pushes to their devices through FCM by the
``notification.push`` job.

Exactly once per device: before a batch goes to FCM its (notification, device) delivery records
are claimed and committed; a job that runs again skips whatever is claimed. A worker killed
between the claim and FCM's answer leaves its batch claimed: those pushes may or may not have
gone out, and are never sent again. That is at-most-once per device by choice: a duplicate push
is the visible fault (the inbox row is there either way), a missed one is not. Only answers in
which FCM says it did not take the message (quota, 5xx, unreachable) make a push go again."""

import asyncio
import contextlib
import logging
import secrets
import zoneinfo
from dataclasses import dataclass
from datetime import time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.currency import is_cash, parse
from app.kit.effects import emit_after_commit, enqueue_after_commit
from app.kit.errors import InvalidInput
from app.kit.resources import Resources
from app.kit.rooms import user_room
from app.kit.uow import unit_of_work
from app.models.notification import (
    DeliveryStatus,
    Device,
    NotificationKind,
    NotificationPreferences,
)
from app.notification import schemas
from app.notification.errors import DeviceNotFound, NotificationNotFound
from app.notification.repository import ALL_USERS, PushTarget, Row, notification_repository
from integrations.firebase.client import MAX_BATCH, Outcome, Push, PushResult

log = logging.getLogger(__name__)

KINDS: tuple[str, ...] = tuple(kind.value for kind in NotificationKind)
#: Devices a user keeps registered; registering more forgets the least recently seen.
MAX_DEVICES_PER_USER = 20
#: An event with more pending rows than this is split: its users in ranges of about
#: ``RANGE_ROWS`` rows (``MAX_RANGES`` at most) on a Redis list, taken one after the other by
#: ``LANES`` jobs that worker processes run side by side. One pass over 100,000 devices is
#: bound by one process's CPU (firebase-admin's work per message): lanes spread it.
SPLIT_ROWS = 5_000
RANGE_ROWS = 2_500
MAX_RANGES = 200
LANES = 8
#: How far apart the lanes come due (see NotificationService._split).
LANE_STAGGER_SECONDS = 0.1
#: A range with pushes refused for now goes on as a job of its own this much later.
RANGE_RETRY_SECONDS = 2
#: A split event's lanes are taken for at work while one of them took a range this recently
#: (or the split was made): the event is not split again meanwhile.
LANES_ALIVE = 60
#: A split's list of ranges is dropped this long after it was made (the sweep covers a
#: range a lane took and never finished, e.g. its worker was killed).
RANGES_TTL_SECONDS = 3600

_STATUS = {
    Outcome.sent: DeliveryStatus.sent,
    Outcome.retry: DeliveryStatus.retry,
    Outcome.failed: DeliveryStatus.failed,
    Outcome.unknown: DeliveryStatus.unknown,
    Outcome.dead: DeliveryStatus.failed,
}


def push_job_id(event_key: str) -> str:
    return f"notification.push:{event_key}"


def lanes_key(event_key: str) -> str:
    """Redis: set while a split of the event's pushes has lanes at work."""
    return f"notification.push:lanes:{event_key}"


def pool_result_key(pool_id: int) -> str:
    """The event of a pool's results: one inbox row per bettor under it."""
    return f"pool.result:{pool_id}"


def amount_words(amount: int, currency: str) -> str:
    """``800 points``, ``8.00 USD``."""
    if is_cash(currency):
        return f"{amount // 100}.{amount % 100:02d} {parse(currency).code}"
    return f"{amount} points"


def view(row: Row) -> schemas.Notification:
    return schemas.Notification(
        id=row.id,
        kind=row.kind,
        title=row.title,
        body=row.body,
        link=row.link,
        channel_id=row.channel_id,
        pool_id=row.pool_id,
        data=row.data,
        created_at=row.created_at,
        read_at=row.read_at,
    )


def device_view(device: Device) -> schemas.Device:
    return schemas.Device(
        id=device.id,
        platform=device.platform,
        token_suffix=device.token[-6:],
        created_at=device.created_at,
        last_seen_at=device.last_seen_at,
    )


def preferences_view(prefs: NotificationPreferences | None) -> schemas.Preferences:
    off = set(prefs.push_off) if prefs else set()
    quiet = None
    if prefs and prefs.quiet_start is not None and prefs.quiet_end is not None:
        quiet = schemas.QuietHoursView(
            start=prefs.quiet_start.strftime("%H:%M"), end=prefs.quiet_end.strftime("%H:%M")
        )
    return schemas.Preferences(
        push={kind: kind not in off for kind in KINDS},
        quiet_hours=quiet,
        time_zone=prefs.time_zone if prefs else "UTC",
    )


@dataclass(slots=True)
class PushReport:
    """What one run of the push job did."""

    sent: int = 0
    dead: int = 0
    retry: int = 0
    failed: int = 0
    unknown: int = 0
    batches: int = 0
    #: FCM said the quota is spent: the pass stopped early.
    quota: bool = False
    #: Pushes refused for now, to send again after a backoff.
    retries_left: int = 0
    #: The event was split into this many ranges (none pushed here); of a lane, the ranges
    #: it pushed.
    parts: int = 0


class NotificationService:
    # -- writing notifications -----------------------------------------------------------------

    async def notify(
        self,
        session: AsyncSession,
        user_ids: list[int],
        *,
        kind: NotificationKind,
        event_key: str,
        title: str,
        body: str,
        link: str | None = None,
        channel_id: int | None = None,
        pool_id: int | None = None,
        data: dict[str, Any] | None = None,
    ) -> list[schemas.Notification]:
        """Put a notification in each user's inbox, in this transaction (once per event and
        user); after commit, the ``notification`` event to each and their pushes."""
        rows = await notification_repository.insert_for_users(
            session,
            user_ids,
            kind=kind.value,
            event_key=event_key,
            title=title,
            body=body,
            link=link,
            channel_id=channel_id,
            pool_id=pool_id,
            data=data or {},
        )
        views = [view(row) for row in rows]
        for row, notice in zip(rows, views, strict=True):
            emit_after_commit(session, "notification", notice, user_room(row.user_id))
        if rows:
            self.push_later(session, event_key)
        return views

    def push_later(self, session: AsyncSession, event_key: str) -> None:
        enqueue_after_commit(session, "notification.push", event_key, job_id=push_job_id(event_key))

    def pool_opened_later(self, session: AsyncSession, pool_id: int) -> None:
        """Tell the channel's members after commit, in a job (a channel may be huge)."""
        enqueue_after_commit(
            session,
            "notification.pool_opened",
            pool_id,
            job_id=f"notification.pool_opened:{pool_id}",
        )

    async def pool_opened(self, session: AsyncSession, pool_id: int) -> int:
        """ "A pool opened" in every member's inbox, in one statement, then their pushes. Once
        per pool; nothing for a pool no longer open."""
        pool = await notification_repository.pool_facts(session, pool_id)
        if pool is None or pool.status != "open":
            return 0
        key = f"pool.opened:{pool_id}"
        if not await notification_repository.add_event(session, key, "pool.opened"):
            return 0
        created = await notification_repository.insert_for_members(
            session, pool, kind=NotificationKind.pool_opened.value, event_key=key
        )
        await notification_repository.count_event(session, key, created)
        if created:
            self.push_later(session, key)
        return created

    async def locking_soon(self, session: AsyncSession, lead_seconds: int) -> int:
        """Tell the bettors of each open pool closing within the lead, once per pool."""
        told = 0
        for pool_id in await notification_repository.pools_locking_soon(session, lead_seconds):
            pool = await notification_repository.pool_facts(session, pool_id)
            key = f"pool.locking:{pool_id}"
            if pool is None or not await notification_repository.add_event(
                session, key, "pool.locking"
            ):
                continue
            created = await notification_repository.insert_for_bettors(
                session,
                pool,
                kind=NotificationKind.pool_locking.value,
                event_key=key,
                lead=lead_seconds,
            )
            await notification_repository.count_event(session, key, created)
            if created:
                self.push_later(session, key)
            told += 1
        return told

    async def pool_results(self, session: AsyncSession, pool_id: int, *, refund: bool) -> int:
        """Each bettor's result of a paid pool (won, lost, or refunded: ``refund``, every stake
        came back) in their inbox, in one statement, once per pool: run again, even at once,
        it writes nothing (the second run waits for the first's ``pool.result`` event row and
        finds it). Run by a job after the payout commits; their pushes after this commits."""
        key = pool_result_key(pool_id)
        created = 0
        if await notification_repository.add_event(session, key, "pool.result"):
            created = await notification_repository.insert_pool_results(
                session, pool_id, key, refund=refund
            )
            await notification_repository.count_event(session, key, created)
        # Whatever is still pending of them (a run after a crash too): once per device.
        self.push_later(session, key)
        return created

    async def pool_result_notices(
        self, session: AsyncSession, pool_id: int
    ) -> dict[int, schemas.Notification]:
        """Each bettor's result notification of a paid pool, by user."""
        rows = await notification_repository.of_event(session, pool_result_key(pool_id))
        return {row.user_id: view(row) for row in rows}

    # -- the inbox -----------------------------------------------------------------------------

    async def page(
        self, session: AsyncSession, user_id: int, cursor: str | None, limit: int
    ) -> schemas.NotificationPage:
        """Newest first; ``next_cursor`` is opaque (a notification id)."""
        before = _parse_cursor(cursor)
        rows = await notification_repository.page(session, user_id, before, limit + 1)
        page, more = rows[:limit], len(rows) > limit
        return schemas.NotificationPage(
            notifications=[view(row) for row in page],
            unread=await notification_repository.unread(session, user_id),
            next_cursor=str(page[-1].id) if more and page else None,
        )

    async def mark_read(
        self, session: AsyncSession, user_id: int, notification_id: int
    ) -> schemas.Notification:
        row = await notification_repository.mark_read(session, user_id, notification_id)
        if row is None:
            raise NotificationNotFound()
        return view(row)

    async def mark_all_read(self, session: AsyncSession, user_id: int) -> schemas.ReadAll:
        marked = await notification_repository.mark_all_read(session, user_id)
        return schemas.ReadAll(marked=marked, unread=0)

    # -- preferences ---------------------------------------------------------------------------

    async def preferences(self, session: AsyncSession, user_id: int) -> schemas.Preferences:
        return preferences_view(await notification_repository.preferences(session, user_id))

    async def update_preferences(
        self, session: AsyncSession, user_id: int, data: schemas.PreferencesUpdate
    ) -> schemas.Preferences:
        """Change what was given: pushes per kind, quiet hours, the time zone."""
        if isinstance(data.time_zone, str):
            await self._check_time_zone(session, data.time_zone)
        prefs = await notification_repository.preferences_for_update(session, user_id)
        if isinstance(data.push, dict):
            off = set(prefs.push_off)
            for kind, on in data.push.items():
                (off.discard if on else off.add)(kind)
            prefs.push_off = sorted(off)
        if data.quiet_hours is None:
            prefs.quiet_start = prefs.quiet_end = None
        elif isinstance(data.quiet_hours, schemas.QuietHours):
            prefs.quiet_start = _clock(data.quiet_hours.start)
            prefs.quiet_end = _clock(data.quiet_hours.end)
        if isinstance(data.time_zone, str):
            prefs.time_zone = data.time_zone
        await session.flush()
        return preferences_view(prefs)

    async def _check_time_zone(self, session: AsyncSession, name: str) -> None:
        try:
            zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise InvalidInput("time_zone", "is not an IANA time zone") from None
        if not await notification_repository.time_zone_known(session, name):
            raise InvalidInput("time_zone", "is not a time zone this server knows")

    # -- devices -------------------------------------------------------------------------------

    async def register_device(
        self, session: AsyncSession, user_id: int, data: schemas.DeviceRegister
    ) -> schemas.Device:
        """Register a token (again: its last-seen time moves on). A token registered by
        another user moves to this one: the device changed hands."""
        device = await notification_repository.upsert_device(
            session, user_id, data.token, data.platform
        )
        await notification_repository.trim_devices(session, user_id, MAX_DEVICES_PER_USER)
        return device_view(device)

    async def devices(self, session: AsyncSession, user_id: int) -> schemas.DeviceList:
        rows = await notification_repository.devices(session, user_id)
        return schemas.DeviceList(devices=[device_view(d) for d in rows])

    async def remove_device(self, session: AsyncSession, user_id: int, device_id: int) -> None:
        if not await notification_repository.delete_device(session, user_id, device_id):
            raise DeviceNotFound()

    # -- pushes --------------------------------------------------------------------------------

    async def push(
        self, resources: Resources, event_key: str, users: tuple[int, int] | None = None
    ) -> PushReport:
        """Push the event's pending notifications to their users' devices, 500 a call, in one
        pass by (user, device): of every user, or of those in ``users`` ([first, end)) when
        this is one range of the event's pushes. An event with more than ``SPLIT_ROWS`` pending
        rows is not pushed here but split (see :meth:`push_lane`).

        Each batch is claimed and committed right before it is sent, never sooner (see the
        module's docstring); FCM's answers are recorded while the next batch goes out, and the
        next page of devices is read meanwhile. Dead tokens are deleted; pushes refused for now
        stay to retry (their rows pending, even if another run marked them done meanwhile),
        the rest of the pass goes on unless the quota is spent. Safe to run twice, even at
        once, whole or in ranges that overlap: each push is claimed by one run."""
        report = PushReport()
        if resources.push is None:
            return report
        if users is None:
            ranges = await self._ranges(resources, event_key)
            if len(ranges) > 1:
                # Lanes at work on the event already (the sweep runs this again for a big
                # event still going after a minute): more of them would only take job slots.
                if await resources.redis.set(lanes_key(event_key), "1", nx=True, ex=LANES_ALIVE):
                    await self._split(resources, event_key, ranges)
                    report.parts = len(ranges)
                return report
            users = ALL_USERS
        max_attempts = resources.settings.push_max_attempts
        await self._pass(resources, event_key, users, report, max_attempts)
        async with unit_of_work(resources) as session:
            if not report.quota:
                await notification_repository.finish_event(session, event_key, users)
            report.retries_left = await notification_repository.retries_left(
                session, event_key, users
            )
        return report

    async def push_lane(self, resources: Resources, event_key: str, ranges: str) -> PushReport:
        """One lane of a split event: take the next range of users off the Redis list
        ``ranges`` and push it, until none is left. A split event has ``LANES`` lanes, each
        its own job; the lanes a worker process runs take ranges as fast as that process gets
        through them, so the processes finish together however arq spread the lanes. A range
        with pushes refused for now goes on as a job of its own, which retries them with
        backoff; a lane stops when FCM says the quota is spent (its range then retried so,
        what is left of the list by the sweep). Each range taken tells the event's push job
        that lanes are at work (``lanes_key``), so it does not split the event again."""
        report = PushReport()
        if resources.push is None:
            return report
        while (taken := await resources.redis.lpop(ranges)) is not None:  # type: ignore[misc]
            await resources.redis.set(lanes_key(event_key), "1", ex=LANES_ALIVE)
            first, end = (int(bound) for bound in str(taken).split("-"))
            done = await self.push(resources, event_key, (first, end))
            for name in ("sent", "dead", "retry", "failed", "unknown", "batches"):
                setattr(report, name, getattr(report, name) + getattr(done, name))
            report.parts += 1
            if done.retries_left or done.quota:
                await resources.jobs.enqueue_job(
                    "notification.push",
                    event_key,
                    first,
                    end,
                    _job_id=f"{push_job_id(event_key)}:users:{first}-{end}",
                    _defer_by=RANGE_RETRY_SECONDS,
                )
            if done.quota:
                report.quota = True
                break
        return report

    async def _pass(
        self,
        resources: Resources,
        event_key: str,
        users: tuple[int, int],
        report: PushReport,
        max_attempts: int,
    ) -> None:
        """One pass over the event's pending pushes to the users in ``users``, counted in
        ``report``; it stops early when FCM says the quota is spent."""
        client = resources.push
        assert client is not None
        after = (users[0], 0)
        recording: asyncio.Task[None] | None = None
        upcoming = asyncio.create_task(self._page(resources, event_key, after, users, max_attempts))
        try:
            while page := await upcoming:
                after = (page[-1].user_id, page[-1].device_id)
                async with unit_of_work(resources) as session:
                    claimed = await notification_repository.claim(
                        session, [(t.notification_id, t.device_id) for t in page], max_attempts
                    )
                # Read the next page while this batch is out (it is claimed: not in it).
                upcoming = asyncio.create_task(
                    self._page(resources, event_key, after, users, max_attempts)
                )
                batch = [t for t in page if (t.notification_id, t.device_id) in claimed]
                if not batch:
                    continue
                results = await client.send([_push(target) for target in batch])
                report.batches += 1
                rows, dead = _tally(batch, results, report)
                if recording is not None:
                    await recording
                recording = asyncio.create_task(self._record(resources, rows, dead, max_attempts))
                if report.quota:
                    break
        finally:
            upcoming.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await upcoming
            if recording is not None:
                await recording

    async def _ranges(self, resources: Resources, event_key: str) -> list[tuple[int, int]]:
        async with unit_of_work(resources) as session:
            pending = await notification_repository.pending_count(session, event_key)
            if pending <= SPLIT_ROWS:
                return [ALL_USERS]
            count = min(MAX_RANGES, -(-pending // RANGE_ROWS))
            return await notification_repository.user_ranges(session, event_key, count)

    async def _split(
        self, resources: Resources, event_key: str, ranges: list[tuple[int, int]]
    ) -> None:
        """The ranges on a Redis list of their own, and the lanes that take them, each a
        ``notification.push`` job. arq gives a worker process every due job it has room for
        when it polls: the lanes come due a moment apart, each taken by the first process to
        poll after it, so that every process is likely to get some."""
        split = secrets.token_hex(4)
        queue = f"notification.push:ranges:{event_key}:{split}"
        await resources.redis.rpush(queue, *(f"{first}-{end}" for first, end in ranges))  # type: ignore[misc]
        await resources.redis.expire(queue, RANGES_TTL_SECONDS)
        for lane in range(min(LANES, len(ranges))):
            await resources.jobs.enqueue_job(
                "notification.push",
                event_key,
                None,
                None,
                queue,
                _job_id=f"{push_job_id(event_key)}:lane:{split}:{lane}",
                _defer_by=lane * LANE_STAGGER_SECONDS,
            )

    async def _page(
        self,
        resources: Resources,
        event_key: str,
        after: tuple[int, int],
        users: tuple[int, int],
        max_attempts: int,
    ) -> list[PushTarget]:
        async with unit_of_work(resources) as session:
            return await notification_repository.push_page(
                session, event_key, after, MAX_BATCH, max_attempts, before_user=users[1]
            )

    async def _record(
        self,
        resources: Resources,
        rows: list[tuple[int, int, str, str | None, str | None]],
        dead: list[int],
        max_attempts: int,
    ) -> None:
        async with unit_of_work(resources) as session:
            await notification_repository.record(session, rows, max_attempts)
            if dead:
                log.info("deleting %d dead FCM tokens", len(dead))
                await notification_repository.delete_devices(session, dead)

    async def sweep(self, resources: Resources) -> int:
        """Pushes held for quiet hours that are over, and pending ones whose job was lost or
        has retries left: their jobs enqueued again. Fan-outs of pools whose job was lost:
        run now. Returns how many jobs were enqueued."""
        async with unit_of_work(resources) as session:
            released = await notification_repository.release_held(session)
            stalled = await notification_repository.stalled_events(session)
            untold = await notification_repository.pools_opened_untold(session)
        enqueued = 0
        if resources.push is not None:
            for key in dict.fromkeys([*released, *stalled]):
                job = await resources.jobs.enqueue_job(
                    "notification.push", key, _job_id=f"{push_job_id(key)}:sweep"
                )
                enqueued += job is not None
        for pool_id in untold:
            job = await resources.jobs.enqueue_job(
                "notification.pool_opened", pool_id, _job_id=f"notification.pool_opened:{pool_id}"
            )
            enqueued += job is not None
        return enqueued


def _tally(
    batch: list[PushTarget], results: list[PushResult], report: PushReport
) -> tuple[list[tuple[int, int, str, str | None, str | None]], list[int]]:
    """FCM's answers counted in the report; the delivery records to write and the devices
    whose tokens are dead."""
    rows: list[tuple[int, int, str, str | None, str | None]] = []
    dead: list[int] = []
    for target, result in zip(batch, results, strict=True):
        setattr(report, result.outcome.value, getattr(report, result.outcome.value) + 1)
        report.quota = report.quota or result.quota
        if result.outcome is Outcome.dead:
            dead.append(target.device_id)
            continue
        status = _STATUS[result.outcome]
        rows.append(
            (
                target.notification_id,
                target.device_id,
                status.value,
                result.message_id,
                result.error,
            )
        )
    return rows, dead


def _push(target: PushTarget) -> Push:
    data = {"notification_id": str(target.notification_id), "kind": target.kind}
    if target.link:
        data["link"] = target.link
    if target.pool_id is not None:
        data["pool_id"] = str(target.pool_id)
    if target.channel_id is not None:
        data["channel_id"] = str(target.channel_id)
    return Push(token=target.token, title=target.title, body=target.body, data=data)


def _clock(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def _parse_cursor(cursor: str | None) -> int | None:
    if cursor is None or cursor == "":
        return None
    if not (cursor.isascii() and cursor.isdigit()) or int(cursor) >= 2**63:
        raise InvalidInput("cursor", "is not a cursor this API returned")
    return int(cursor)


notification_service = NotificationService()
