"""Automations: per-channel rules, managed by the channel's staff, fired by the channel's
platform events through the pool lifecycle (the same functions staff use, one place for the
pool rules).

Who acts: automation acts for the channel (``actor=None`` in the pool lifecycle; transitions
are recorded with no actor and ``actor_kind = 'automation'``), and ``automation_firings`` says
which rule did it for which stream session or prediction. Automation holds no position, so the
conflict-of-interest rule does not refuse it; but a mirrored prediction's result is decided on
Twitch by its broadcaster or moderators, the very people the rule keeps from deciding a pool
they bet in. So a mirrored end that would decide the pool's money (resolve, or cancel once
locked) is carried out only if no one of the channel's staff (nor an account merged into one)
holds a position; otherwise the pool is left locked for staff without a position to resolve by
hand (or the stale-lock sweep refunds it), and the owner is told.

Idempotent: each rule fires once per occurrence (``UNIQUE(rule_id, occurrence)``), and one
event of a channel is handled at a time (its ``channel_streams`` row is locked), so redelivered,
concurrent and out-of-order events act once."""

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.tokens import Principal
from app.automation import schemas
from app.automation.errors import AutomationNotFound, MirrorAutomationExists
from app.automation.repository import DAWN, automation_repository
from app.channel.permissions import channel_or_404, require_staff
from app.channel.service import channel_service
from app.kit.effects import enqueue_after_commit
from app.kit.errors import AppError, InvalidInput
from app.kit.resources import Resources
from app.models.automation import (
    AutomationFiring,
    AutomationKind,
    AutomationRule,
    ChannelStream,
    FiringStatus,
    PlatformStream,
)
from app.models.channel import Channel, Platform
from app.models.notification import NotificationKind
from app.models.pool import PoolStatus
from app.notification.service import notification_service
from app.pool import schemas as pool_schemas
from app.pool.errors import InvalidTransition
from app.pool.lifecycle import pool_lifecycle
from app.pool.repository import pool_repository
from app.pool.templates import pool_templates
from integrations.events import PlatformEvent, PlatformPrediction

log = logging.getLogger(__name__)

#: Stake limits of a mirrored prediction's points pool.
MIRROR_MIN_STAKE = 1
MIRROR_MAX_STAKE = 1_000_000
#: A mirrored pool without a usable lock time closes after Twitch's longest prediction window.
MIRROR_WINDOW_SECONDS = 1800


def open_job_id(firing_id: int) -> str:
    return f"automation.open_delayed:{firing_id}"


def rule_view(rule: AutomationRule) -> schemas.Automation:
    return schemas.Automation(
        id=rule.id,
        channel_id=rule.channel_id,
        kind=rule.kind.value,
        template_id=rule.template_id,
        delay_seconds=rule.delay_seconds,
        offline_action=rule.offline_action,  # type: ignore[arg-type]
        enabled=rule.enabled,
        created_by=rule.created_by,
        created_at=rule.created_at,
    )


def session_occurrence(event: PlatformEvent, stream: ChannelStream) -> str:
    """The stream session an event belongs to: the platform's stream id, else the session
    known online, else the event's time (a platform that names no session)."""
    return event.stream_id or stream.stream_id or f"at:{event.occurred_at.isoformat()}"


def _live_elsewhere(sides: dict[Platform, PlatformStream], platform: Platform) -> bool:
    """Whether a platform other than ``platform`` is live now."""
    return any(side.online for other, side in sides.items() if other is not platform)


class AutomationService:
    # -- rules over REST ------------------------------------------------------------------------

    async def list(
        self, session: AsyncSession, actor: Principal, channel_id: int
    ) -> schemas.AutomationList:
        channel = await channel_or_404(session, channel_id)
        await require_staff(session, channel, actor)
        rules = await automation_repository.rules(session, channel.id)
        return schemas.AutomationList(automations=[rule_view(rule) for rule in rules])

    async def create(
        self,
        session: AsyncSession,
        actor: Principal,
        channel_id: int,
        data: schemas.AutomationCreate,
    ) -> schemas.Automation:
        """Add a rule (the channel's owner or moderators)."""
        channel = await channel_or_404(session, channel_id)
        await require_staff(session, channel, actor)
        kind = AutomationKind(data.kind)
        offline_action = data.offline_action
        if kind is AutomationKind.stream_offline and offline_action is None:
            offline_action = "lock"
        await self._validate(
            session, channel, kind, data.template_id, data.delay_seconds, offline_action
        )
        if kind is AutomationKind.mirror_predictions and await automation_repository.rules(
            session, channel.id, kind
        ):
            raise MirrorAutomationExists()
        rule = AutomationRule(
            channel_id=channel.id,
            kind=kind,
            template_id=data.template_id,
            delay_seconds=data.delay_seconds,
            offline_action=offline_action,
            enabled=data.enabled,
            created_by=actor.user_id,
        )
        await automation_repository.add(session, rule)
        view = rule_view(rule)
        await self._audit(session, actor, "automation_created", view)
        return view

    async def update(
        self,
        session: AsyncSession,
        actor: Principal,
        channel_id: int,
        rule_id: int,
        data: schemas.AutomationUpdate,
    ) -> schemas.Automation:
        channel = await channel_or_404(session, channel_id)
        await require_staff(session, channel, actor)
        rule = await automation_repository.rule(session, channel.id, rule_id)
        if rule is None:
            raise AutomationNotFound()
        template_id = rule.template_id if data.template_id is None else data.template_id
        delay = rule.delay_seconds if data.delay_seconds is None else data.delay_seconds
        action = rule.offline_action if data.offline_action is None else data.offline_action
        await self._validate(session, channel, rule.kind, template_id, delay, action)
        rule.template_id, rule.delay_seconds, rule.offline_action = template_id, delay, action
        if data.enabled is not None:
            rule.enabled = data.enabled
        await session.flush()
        view = rule_view(rule)
        await self._audit(session, actor, "automation_updated", view)
        return view

    async def delete(
        self, session: AsyncSession, actor: Principal, channel_id: int, rule_id: int
    ) -> None:
        channel = await channel_or_404(session, channel_id)
        await require_staff(session, channel, actor)
        rule = await automation_repository.rule(session, channel.id, rule_id)
        if rule is None:
            raise AutomationNotFound()
        view = rule_view(rule)
        await automation_repository.delete(session, rule)
        await self._audit(session, actor, "automation_deleted", view)

    async def _audit(
        self, session: AsyncSession, actor: Principal, action: str, rule: schemas.Automation
    ) -> None:
        """Who changed which rule, into what, in the channel's staff audit trail."""
        await channel_service.record_audit(
            session, rule.channel_id, actor.user_id, action, msgspec.to_builtins(rule)
        )

    async def _validate(
        self,
        session: AsyncSession,
        channel: Channel,
        kind: AutomationKind,
        template_id: int | None,
        delay_seconds: int,
        offline_action: str | None,
    ) -> None:
        if kind is AutomationKind.stream_online:
            if template_id is None:
                raise InvalidInput("template_id", "a stream_online rule opens a template's pool")
            template = await pool_repository.template(session, template_id)
            if template is None or template.channel_id != channel.id:
                raise InvalidInput("template_id", "no such template in this channel")
        elif template_id is not None:
            raise InvalidInput("template_id", f"a {kind.value} rule takes no template")
        if kind is not AutomationKind.stream_online and delay_seconds:
            raise InvalidInput("delay_seconds", "only a stream_online rule waits")
        if kind is not AutomationKind.stream_offline and offline_action is not None:
            raise InvalidInput("offline_action", "only a stream_offline rule takes one")

    # -- platform events ------------------------------------------------------------------------

    async def handle(
        self, session: AsyncSession, resources: Resources, event: PlatformEvent
    ) -> None:
        """Fire the rules of the channel a platform event is for (found by its verified link
        only). Stream and prediction events; chat is for the chat commands."""
        if event.kind == "chat.message":
            return
        channel = await channel_service.verified_channel(
            session, Platform(event.platform), event.channel_id
        )
        if channel is None:
            return
        stream = await automation_repository.stream_for_update(session, channel.id)
        if event.kind == "stream.online":
            await self._stream_online(session, resources, channel, stream, event)
        elif event.kind == "stream.offline":
            await self._stream_offline(session, resources, channel, stream, event)
        elif event.kind.startswith("prediction.") and event.prediction is not None:
            await self._prediction(session, resources, channel, event, event.prediction)

    async def _stream_online(
        self,
        session: AsyncSession,
        resources: Resources,
        channel: Channel,
        stream: ChannelStream,
        event: PlatformEvent,
    ) -> None:
        """A platform went live: the first one live begins the channel's stream session (its
        stream names the session); one going live while another is still live joins it, so a
        multistream fires each rule once."""
        platform = Platform(event.platform)
        sides = await automation_repository.platform_streams(session, channel.id)
        side = await self._side(session, sides, channel.id, platform)
        occurrence = event.stream_id or f"at:{event.occurred_at.isoformat()}"
        if side.stream_id == occurrence:
            if not side.online or not stream.online:
                return  # that platform's stream already ended (its offline came first)
        elif side.event_at > event.occurred_at:
            return  # older than what we know of this platform: a late event
        else:
            side.online, side.stream_id, side.event_at = True, occurrence, event.occurred_at
            if not (stream.online and _live_elsewhere(sides, platform)):
                stream.online, stream.stream_id = True, occurrence
                stream.started_at, stream.ended_at = event.occurred_at, None
            stream.event_at = max(stream.event_at, event.occurred_at)
            await session.flush()
        assert stream.stream_id is not None
        session_id = stream.stream_id
        for rule in await automation_repository.rules(
            session, channel.id, AutomationKind.stream_online, enabled_only=True
        ):
            assert rule.template_id is not None
            if rule.delay_seconds:
                firing = await automation_repository.claim_firing(
                    session, rule.id, session_id, FiringStatus.scheduled
                )
                if firing is not None:
                    enqueue_after_commit(
                        session,
                        "automation.open_delayed",
                        firing.id,
                        job_id=open_job_id(firing.id),
                        defer_seconds=rule.delay_seconds,
                    )
                continue
            firing = await automation_repository.claim_firing(
                session, rule.id, session_id, FiringStatus.done
            )
            if firing is not None:
                await self._open_template(session, resources, rule, firing)

    async def _stream_offline(
        self,
        session: AsyncSession,
        resources: Resources,
        channel: Channel,
        stream: ChannelStream,
        event: PlatformEvent,
    ) -> None:
        """A platform went offline: the session ends, and the offline rules fire, when no other
        platform is still live."""
        platform = Platform(event.platform)
        sides = await automation_repository.platform_streams(session, channel.id)
        side = await self._side(session, sides, channel.id, platform)
        if side.event_at > event.occurred_at:
            return
        side.online, side.event_at = False, event.occurred_at
        side.stream_id = event.stream_id or side.stream_id
        stream.event_at = max(stream.event_at, event.occurred_at)
        if stream.online and _live_elsewhere(sides, platform):
            await session.flush()
            return  # the stream goes on on another platform
        occurrence = stream.stream_id if stream.online else session_occurrence(event, stream)
        assert occurrence is not None
        stream.online, stream.stream_id = False, occurrence
        stream.ended_at = event.occurred_at
        await session.flush()
        for rule in await automation_repository.rules(
            session, channel.id, AutomationKind.stream_offline, enabled_only=True
        ):
            firing = await automation_repository.claim_firing(
                session, rule.id, occurrence, FiringStatus.done
            )
            if firing is None:
                continue
            acted = []
            for pool_id in await automation_repository.open_pools(session, channel.id):
                if await self._move(session, resources, pool_id, rule.offline_action or "lock"):
                    acted.append(pool_id)
            firing.details = {"pools": acted, "action": rule.offline_action}
            await session.flush()

    async def _side(
        self,
        session: AsyncSession,
        sides: dict[Platform, PlatformStream],
        channel_id: int,
        platform: Platform,
    ) -> PlatformStream:
        """The platform's side of the channel's stream, created offline the first time."""
        side = sides.get(platform)
        if side is None:
            side = PlatformStream(
                channel_id=channel_id, platform=platform, online=False, event_at=DAWN
            )
            await automation_repository.add_platform_stream(session, side)
            sides[platform] = side
        return side

    async def open_delayed(
        self, session: AsyncSession, resources: Resources, firing_id: int
    ) -> bool:
        """Open a delayed rule's pool if its stream session is still the one live (the job,
        run after the delay). True when a pool opened."""
        found = await automation_repository.firing_by_id_for_update(session, firing_id)
        if found is None:
            return False
        firing, rule = found
        if firing.status is not FiringStatus.scheduled:
            return False
        stream = await automation_repository.stream(session, rule.channel_id)
        if (
            not rule.enabled
            or stream is None
            or not stream.online
            or (stream.stream_id != firing.occurrence)
        ):
            firing.status = FiringStatus.skipped
            await session.flush()
            return False
        firing.status = FiringStatus.done
        return await self._open_template(session, resources, rule, firing)

    async def reschedule_delayed(self, session: AsyncSession) -> int:
        """Enqueue again the delayed opens still waiting (a job lost with Redis): the same job
        id, so one that is still queued is not doubled."""
        waiting = await automation_repository.overdue_scheduled(session)
        for firing_id, seconds_left in waiting:
            enqueue_after_commit(
                session,
                "automation.open_delayed",
                firing_id,
                job_id=open_job_id(firing_id),
                defer_seconds=seconds_left or None,
            )
        return len(waiting)

    async def _open_template(
        self,
        session: AsyncSession,
        resources: Resources,
        rule: AutomationRule,
        firing: AutomationFiring,
    ) -> bool:
        assert rule.template_id is not None
        try:
            async with session.begin_nested():
                pool = await pool_templates.open_template(
                    session, resources, None, rule.channel_id, rule.template_id
                )
        except AppError as error:
            await self._failed(session, firing, error.to_dict())
            return False
        firing.pool_id = pool.id
        await session.flush()
        return True

    async def _move(
        self, session: AsyncSession, resources: Resources, pool_id: int, action: str
    ) -> bool:
        """Lock, cancel or resolve a pool as automation; False when it had moved on already."""
        try:
            async with session.begin_nested():
                if action == "lock":
                    await pool_lifecycle.lock(session, resources, None, pool_id)
                else:
                    await pool_lifecycle.cancel(session, resources, None, pool_id)
        except InvalidTransition:
            return False
        return True

    # -- mirrored predictions -------------------------------------------------------------------

    async def _prediction(
        self,
        session: AsyncSession,
        resources: Resources,
        channel: Channel,
        event: PlatformEvent,
        prediction: PlatformPrediction,
    ) -> None:
        occurrence = f"prediction:{prediction.id}"
        opening = event.kind in ("prediction.begin", "prediction.progress")
        for rule in await automation_repository.rules(
            session, channel.id, AutomationKind.mirror_predictions, enabled_only=True
        ):
            firing = await automation_repository.firing_for_update(session, rule.id, occurrence)
            if firing is None:
                # Only a live prediction opens a pool; a lock or end seen first consumes the
                # occurrence, so its late begin opens nothing.
                status = FiringStatus.done
                firing = await automation_repository.claim_firing(
                    session, rule.id, occurrence, status
                )
                if firing is None:  # a concurrent handler claimed it: act on its outcome
                    firing = await automation_repository.firing_for_update(
                        session, rule.id, occurrence
                    )
                    assert firing is not None
                elif opening:
                    await self._open_mirror(session, resources, channel, firing, prediction)
                    continue
                else:
                    firing.details = {"consumed_by": event.kind}
                    await session.flush()
                    continue
            if firing.pool_id is None or opening:
                continue
            await self._follow_prediction(session, resources, channel, firing, event, prediction)

    async def _open_mirror(
        self,
        session: AsyncSession,
        resources: Resources,
        channel: Channel,
        firing: AutomationFiring,
        prediction: PlatformPrediction,
    ) -> None:
        now = datetime.now(UTC)
        locks_at = prediction.locks_at
        usable = locks_at is not None and now + timedelta(
            seconds=15
        ) <= locks_at <= now + timedelta(hours=23)
        try:
            data = msgspec.convert(
                {
                    "channel_id": channel.id,
                    "title": prediction.title.strip(),
                    "outcomes": [o.title.strip() for o in prediction.outcomes],
                    "currency": "points",
                    "min_stake": MIRROR_MIN_STAKE,
                    "max_stake": MIRROR_MAX_STAKE,
                    **(
                        {"closes_at": locks_at}
                        if usable
                        else {"window_seconds": MIRROR_WINDOW_SECONDS}
                    ),
                },
                pool_schemas.PoolCreate,
            )
            async with session.begin_nested():
                pool = await pool_lifecycle.create(session, resources, None, data)
        except (AppError, msgspec.ValidationError) as error:
            details = error.to_dict() if isinstance(error, AppError) else {"message": str(error)}
            await self._failed(session, firing, details)
            return
        firing.pool_id = pool.id
        # Pool outcomes follow the prediction's order: map the platform's outcome ids to ours.
        firing.details = {
            "outcomes": {
                o.id: ours.id for o, ours in zip(prediction.outcomes, pool.outcomes, strict=True)
            }
        }
        await session.flush()

    async def _follow_prediction(
        self,
        session: AsyncSession,
        resources: Resources,
        channel: Channel,
        firing: AutomationFiring,
        event: PlatformEvent,
        prediction: PlatformPrediction,
    ) -> None:
        pool_id = firing.pool_id
        assert pool_id is not None
        await self._move(session, resources, pool_id, "lock")  # lock, end: betting stops
        if event.kind != "prediction.end" or firing.status is not FiringStatus.done:
            return
        if await automation_repository.pool_status(session, pool_id) != PoolStatus.locked.value:
            return  # resolved or cancelled already (a redelivered end, or staff were faster)
        resolved = prediction.status == "resolved" and prediction.winning_outcome_id is not None
        if await automation_repository.staff_holds_position(session, pool_id, channel.id):
            firing.status = FiringStatus.held
            firing.details = {**firing.details, "ended": prediction.status}
            await notification_service.notify(
                session,
                [channel.owner_id],
                kind=NotificationKind.automation_mirror_held,
                event_key=f"automation.mirror_held:{firing.id}",
                title="Resolve a mirrored pool by hand",
                body="The Twitch prediction it mirrors ended, but someone of the staff holds a"
                " position in the pool: a member of staff without one must resolve it.",
                link=f"/c/{channel.slug}?pool={pool_id}",
                channel_id=channel.id,
                pool_id=pool_id,
                data={
                    "ended": prediction.status,
                    "platform_outcome_id": prediction.winning_outcome_id,
                },
            )
            await session.flush()
            return
        if not resolved:
            await self._move(session, resources, pool_id, "cancel")
            return
        outcomes: dict[str, Any] = firing.details.get("outcomes", {})
        ours = outcomes.get(str(prediction.winning_outcome_id))
        if ours is None:
            await self._failed(session, firing, {"message": "unknown winning outcome"})
            return
        try:
            async with session.begin_nested():
                await pool_lifecycle.resolve(session, resources, None, pool_id, int(ours))
        except InvalidTransition:
            return

    async def _failed(
        self, session: AsyncSession, firing: AutomationFiring, details: dict[str, Any]
    ) -> None:
        log.warning("automation firing %s failed: %s", firing.id, details)
        firing.status = FiringStatus.failed
        firing.details = {**firing.details, "error": details}
        await session.flush()


automation_service = AutomationService()
