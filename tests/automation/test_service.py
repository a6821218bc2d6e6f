"""Automations fired by platform events: each rule acts once per stream session or prediction,
whatever the redeliveries, the order of arrival, or the number of workers handling them."""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from app.auth.tokens import Principal
from app.automation import schemas
from app.automation.service import automation_service
from app.channel.service import channel_service
from app.kit.effects import Emit, Enqueue, effects_of
from app.kit.resources import Resources
from app.kit.uow import unit_of_work
from app.models.channel import Channel, ChannelLink, Platform
from app.models.pool import PoolTemplate
from app.models.user import Role
from app.notification.schemas import Notification
from app.pool import schemas as pool_schemas
from app.pool.betting import pool_betting
from app.settings import Settings
from integrations.events import PlatformEvent, PlatformPrediction, PredictionOutcome
from tests.factories import create_channel, create_platform_account, create_user, fund_wallet

T0 = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
BROADCASTER_ID = "555"


def _event(kind: str, at: datetime, platform: str = "twitch", **fields: Any) -> PlatformEvent:
    return PlatformEvent(
        platform=platform,  # type: ignore[arg-type]
        kind=kind,  # type: ignore[arg-type]
        delivery_id=f"{platform}:{kind}:{at.isoformat()}",
        occurred_at=at,
        received_at=at,
        channel_id=fields.pop("channel", BROADCASTER_ID),
        **fields,
    )


def _prediction(status: str, winner: str | None = None, pid: str = "pred-1") -> PlatformPrediction:
    return PlatformPrediction(
        id=pid,
        title="Boss first try?",
        outcomes=(
            PredictionOutcome(id="blue-1", title="Yes"),
            PredictionOutcome(id="pink-2", title="No"),
        ),
        status=status,
        winning_outcome_id=winner,
    )


async def _channel(resources: Resources, settings: Settings) -> tuple[Channel, int]:
    """A channel linked (verified) to the Twitch channel BROADCASTER_ID, and a template."""
    async with unit_of_work(resources) as session:
        owner = await create_user(session, settings)
        channel = await create_channel(session, owner.id)
        account = await create_platform_account(session, owner.id, platform_user_id=BROADCASTER_ID)
        await channel_service.link_verified(session, channel, account)
        template = PoolTemplate(
            channel_id=channel.id,
            name="first-try",
            title="First try?",
            outcomes=["Yes", "No"],
            currency_kind="points",
            window_seconds=600,
            min_stake=1,
            max_stake=10_000,
        )
        session.add(template)
        await session.flush()
    return channel, template.id


async def _rule(
    resources: Resources, channel: Channel, data: schemas.AutomationCreate
) -> schemas.Automation:
    async with unit_of_work(resources) as session:
        return await automation_service.create(
            session, Principal(channel.owner_id, Role.user), channel.id, data
        )


async def _handle(resources: Resources, event: PlatformEvent) -> list[Any]:
    async with unit_of_work(resources) as session:
        await automation_service.handle(session, resources, event)
        return list(effects_of(session).pending)


async def _pools(resources: Resources) -> list[tuple[int, str, int | None]]:
    async with unit_of_work(resources) as session:
        rows = await session.execute(
            text("SELECT id, status::text, winning_outcome_id FROM pools ORDER BY id")
        )
        return [(pool_id, status, winner) for pool_id, status, winner in rows]


async def test_stream_online_opens_the_template_once_per_session_and_offline_locks_it(
    resources: Resources, settings: Settings
) -> None:
    channel, template_id = await _channel(resources, settings)
    await _rule(
        resources, channel, schemas.AutomationCreate(kind="stream_online", template_id=template_id)
    )
    await _rule(resources, channel, schemas.AutomationCreate(kind="stream_offline"))

    online = _event("stream.online", T0, stream_id="s1")
    await _handle(resources, online)
    await _handle(resources, online)  # redelivered
    ((pool_id, status, _),) = await _pools(resources)
    assert status == "open"

    offline = _event("stream.offline", T0 + timedelta(hours=2))
    await _handle(resources, offline)
    await _handle(resources, offline)
    assert await _pools(resources) == [(pool_id, "locked", None)]
    # The session's online redelivered after its end opens nothing.
    await _handle(resources, online)
    assert len(await _pools(resources)) == 1

    # The next stream is a new session: a new pool.
    await _handle(resources, _event("stream.online", T0 + timedelta(days=1), stream_id="s2"))
    assert [status for _, status, _ in await _pools(resources)] == ["locked", "open"]


async def _multistream(resources: Resources, settings: Settings) -> Channel:
    """A channel linked to Twitch, Kick and YouTube (the same id on each, for brevity), with
    a stream-online rule and a stream-offline rule."""
    channel, template_id = await _channel(resources, settings)
    async with unit_of_work(resources) as session:
        for platform in ("kick", "youtube"):
            account = await create_platform_account(
                session, channel.owner_id, platform=platform, platform_user_id=BROADCASTER_ID
            )
            await channel_service.link_verified(session, channel, account)
    await _rule(
        resources, channel, schemas.AutomationCreate(kind="stream_online", template_id=template_id)
    )
    await _rule(resources, channel, schemas.AutomationCreate(kind="stream_offline"))
    return channel


async def test_a_multistream_is_one_session_one_pool_locked_when_the_last_platform_ends(
    resources: Resources, settings: Settings
) -> None:
    await _multistream(resources, settings)
    onlines = [
        _event("stream.online", T0, "twitch", stream_id="t1"),
        _event("stream.online", T0 + timedelta(seconds=4), "kick", stream_id="k1"),
        _event("stream.online", T0 + timedelta(seconds=9), "youtube", stream_id="y1"),
    ]
    for event in onlines:
        await _handle(resources, event)
    ((pool_id, status, _),) = await _pools(resources)
    assert status == "open"

    # Twitch ends first, then Kick: the stream goes on on YouTube.
    await _handle(resources, _event("stream.offline", T0 + timedelta(hours=1), "twitch"))
    await _handle(resources, _event("stream.offline", T0 + timedelta(hours=2), "kick"))
    for event in onlines:  # redelivered: nothing opens, nothing restarts
        await _handle(resources, event)
    assert await _pools(resources) == [(pool_id, "open", None)]
    # Twitch comes back (a new Twitch stream) while YouTube is still live: the same session.
    await _handle(
        resources, _event("stream.online", T0 + timedelta(hours=2, minutes=5), stream_id="t2")
    )
    await _handle(resources, _event("stream.offline", T0 + timedelta(hours=2, minutes=30)))
    assert await _pools(resources) == [(pool_id, "open", None)]

    # The last platform ends: the session ends and the offline rule locks the pool, once.
    offline = _event("stream.offline", T0 + timedelta(hours=3), "youtube")
    await _handle(resources, offline)
    await _handle(resources, offline)
    assert await _pools(resources) == [(pool_id, "locked", None)]

    # The next day's stream, begun on Kick, is a new session: a new pool.
    await _handle(
        resources, _event("stream.online", T0 + timedelta(days=1), "kick", stream_id="k2")
    )
    assert [status for _, status, _ in await _pools(resources)] == ["locked", "open"]


async def test_two_platforms_going_live_at_once_open_one_pool(
    resources: Resources, settings: Settings
) -> None:
    await _multistream(resources, settings)
    await asyncio.gather(
        *(
            _handle(resources, _event("stream.online", T0, platform, stream_id=f"{platform}-1"))
            for platform in ("twitch", "kick", "youtube")
        )
    )
    assert [status for _, status, _ in await _pools(resources)] == ["open"]


async def test_a_platforms_late_offline_does_not_end_the_stream_it_came_back_to(
    resources: Resources, settings: Settings
) -> None:
    await _multistream(resources, settings)
    await _handle(resources, _event("stream.online", T0, "twitch", stream_id="t1"))
    await _handle(
        resources, _event("stream.online", T0 + timedelta(minutes=1), "kick", stream_id="k1")
    )
    kick_drop = _event("stream.offline", T0 + timedelta(hours=1), "kick")
    await _handle(resources, kick_drop)
    await _handle(
        resources, _event("stream.online", T0 + timedelta(minutes=90), "kick", stream_id="k2")
    )
    await _handle(resources, kick_drop)  # redelivered after Kick came back: older, ignored
    await _handle(resources, _event("stream.offline", T0 + timedelta(hours=2), "twitch"))
    assert [status for _, status, _ in await _pools(resources)] == ["open"]  # live on Kick
    await _handle(resources, _event("stream.offline", T0 + timedelta(hours=3), "kick"))
    assert [status for _, status, _ in await _pools(resources)] == ["locked"]


async def test_an_offline_arriving_before_its_online_opens_nothing(
    resources: Resources, settings: Settings
) -> None:
    channel, template_id = await _channel(resources, settings)
    await _rule(
        resources, channel, schemas.AutomationCreate(kind="stream_online", template_id=template_id)
    )
    await _handle(resources, _event("stream.offline", T0 + timedelta(hours=1)))
    await _handle(resources, _event("stream.online", T0, stream_id="s1"))
    assert await _pools(resources) == []


async def test_offline_can_cancel_open_pools_instead(
    resources: Resources, settings: Settings
) -> None:
    channel, template_id = await _channel(resources, settings)
    await _rule(
        resources, channel, schemas.AutomationCreate(kind="stream_online", template_id=template_id)
    )
    await _rule(
        resources, channel, schemas.AutomationCreate(kind="stream_offline", offline_action="cancel")
    )
    await _handle(resources, _event("stream.online", T0, stream_id="s1"))
    await _handle(resources, _event("stream.offline", T0 + timedelta(hours=1)))
    assert [status for _, status, _ in await _pools(resources)] == ["cancelled"]


async def test_a_delayed_open_waits_and_opens_only_if_the_session_is_still_live(
    resources: Resources, settings: Settings
) -> None:
    channel, template_id = await _channel(resources, settings)
    await _rule(
        resources,
        channel,
        schemas.AutomationCreate(kind="stream_online", template_id=template_id, delay_seconds=300),
    )
    effects = await _handle(resources, _event("stream.online", T0, stream_id="s1"))
    (job,) = [e for e in effects if isinstance(e, Enqueue)]
    assert job.name == "automation.open_delayed" and job.defer_seconds == 300
    assert job.job_id == f"automation.open_delayed:{job.args[0]}"
    assert await _pools(resources) == []
    async with unit_of_work(resources) as session:
        assert await automation_service.open_delayed(session, resources, job.args[0])
    async with unit_of_work(resources) as session:  # the job ran twice: one pool
        assert not await automation_service.open_delayed(session, resources, job.args[0])
    assert len(await _pools(resources)) == 1

    # Next session ends before its delay is over: nothing opens.
    effects = await _handle(
        resources, _event("stream.online", T0 + timedelta(days=1), stream_id="s2")
    )
    (job,) = [e for e in effects if isinstance(e, Enqueue)]
    await _handle(resources, _event("stream.offline", T0 + timedelta(days=1, minutes=2)))
    async with unit_of_work(resources) as session:
        assert not await automation_service.open_delayed(session, resources, job.args[0])
        # Nothing is left waiting for the sweep to reschedule.
        assert await automation_service.reschedule_delayed(session) == 0
    assert len(await _pools(resources)) == 1


async def test_mirrored_predictions_open_lock_and_resolve_by_the_platform_outcome(
    resources: Resources, settings: Settings
) -> None:
    channel, _ = await _channel(resources, settings)
    await _rule(resources, channel, schemas.AutomationCreate(kind="mirror_predictions"))
    begin = _event("prediction.begin", T0, prediction=_prediction("active"))
    await _handle(resources, begin)
    await _handle(resources, begin)
    ((pool_id, status, _),) = await _pools(resources)
    assert status == "open"
    async with unit_of_work(resources) as session:
        outcomes = await session.execute(
            text("SELECT id, label FROM pool_outcomes WHERE pool_id = :p ORDER BY position"),
            {"p": pool_id},
        )
        (yes_id, yes), (_, no) = outcomes
    assert (yes, no) == ("Yes", "No")

    # The end arrives before the lock: the pool locks and resolves; the late lock does nothing.
    end = _event(
        "prediction.end", T0 + timedelta(minutes=5), prediction=_prediction("resolved", "blue-1")
    )
    await _handle(resources, end)
    await _handle(
        resources,
        _event("prediction.lock", T0 + timedelta(minutes=2), prediction=_prediction("locked")),
    )
    await _handle(resources, end)
    assert await _pools(resources) == [(pool_id, "resolved", yes_id)]


async def test_a_cancelled_prediction_cancels_and_an_end_seen_first_opens_nothing(
    resources: Resources, settings: Settings
) -> None:
    channel, _ = await _channel(resources, settings)
    await _rule(resources, channel, schemas.AutomationCreate(kind="mirror_predictions"))
    await _handle(resources, _event("prediction.begin", T0, prediction=_prediction("active")))
    await _handle(resources, _event("prediction.end", T0, prediction=_prediction("canceled")))
    assert [status for _, status, _ in await _pools(resources)] == ["cancelled"]

    late = _prediction("resolved", "blue-1", pid="pred-2")
    await _handle(resources, _event("prediction.end", T0, prediction=late))
    await _handle(
        resources, _event("prediction.begin", T0, prediction=_prediction("active", pid="pred-2"))
    )
    assert len(await _pools(resources)) == 1


async def test_a_mirrored_result_is_left_to_staff_without_a_position(
    resources: Resources, settings: Settings
) -> None:
    channel, _ = await _channel(resources, settings)
    await _rule(resources, channel, schemas.AutomationCreate(kind="mirror_predictions"))
    await _handle(resources, _event("prediction.begin", T0, prediction=_prediction("active")))
    ((pool_id, _, _),) = await _pools(resources)
    async with unit_of_work(resources) as session:
        await fund_wallet(session, channel.owner_id, 500, f"points:{channel.id}")
        outcome = await session.scalar(
            text("SELECT id FROM pool_outcomes WHERE pool_id = :p AND position = 1"),
            {"p": pool_id},
        )
        assert outcome is not None
        await pool_betting.place_bet(
            session,
            resources,
            channel.owner_id,
            pool_id,
            pool_schemas.BetCreate(outcome_id=outcome, amount=100),
            "owner-bet",
        )
    effects = await _handle(
        resources, _event("prediction.end", T0, prediction=_prediction("resolved", "blue-1"))
    )
    assert await _pools(resources) == [(pool_id, "locked", None)]
    (notice,) = [e for e in effects if isinstance(e, Emit) and e.event == "notification"]
    assert notice.room == f"user:{channel.owner_id}"
    assert isinstance(notice.data, Notification) and notice.data.pool_id == pool_id
    assert notice.data.kind == "automation.mirror_held" and notice.data.id > 0


async def test_an_unverified_link_fires_nothing(resources: Resources, settings: Settings) -> None:
    async with unit_of_work(resources) as session:
        owner = await create_user(session, settings)
        channel = await create_channel(session, owner.id)
        session.add(ChannelLink(channel_id=channel.id, platform=Platform.twitch, external_id="9"))
    await _rule(resources, channel, schemas.AutomationCreate(kind="mirror_predictions"))
    await _handle(
        resources, _event("prediction.begin", T0, channel="9", prediction=_prediction("active"))
    )
    assert await _pools(resources) == []


async def test_two_workers_handling_the_same_event_at_once_open_one_pool(
    resources: Resources, settings: Settings
) -> None:
    channel, template_id = await _channel(resources, settings)
    await _rule(
        resources, channel, schemas.AutomationCreate(kind="stream_online", template_id=template_id)
    )
    await _rule(resources, channel, schemas.AutomationCreate(kind="mirror_predictions"))
    online = _event("stream.online", T0, stream_id="s1")
    begin = _event("prediction.begin", T0, prediction=_prediction("active"))
    await asyncio.gather(_handle(resources, online), _handle(resources, online))
    await asyncio.gather(_handle(resources, begin), _handle(resources, begin))
    assert len(await _pools(resources)) == 2
    end = _event("prediction.end", T0, prediction=_prediction("resolved", "pink-2"))
    await asyncio.gather(_handle(resources, end), _handle(resources, end))
    assert sorted(status for _, status, _ in await _pools(resources)) == ["open", "resolved"]
