"""Jobs of the stream pipeline: the platforms' event subscriptions kept right, and Kick's live
state checked."""

import logging
import time
from datetime import UTC, datetime

from arq import Retry

from app.kit.platforms import kick_configured
from app.kit.uow import read_session, unit_of_work
from app.kit.worker import JobContext, resources_of
from app.stream.kick import KickApp, kick_subscription_service
from app.stream.service import stream_service
from app.stream.subscriptions import TwitchApi, twitch_subscription_service
from app.stream.youtube import youtube_service
from integrations.errors import ApiUnavailable
from integrations.errors import RateLimited as PlatformRateLimited
from integrations.twitch.errors import RateLimited, TwitchUnavailable

log = logging.getLogger(__name__)

#: How long a reconcile waits after Twitch failed (unreachable, 5xx) before trying again.
RETRY_SECONDS = 30


async def reconcile_twitch_subscriptions(
    ctx: JobContext, channel_id: int | None = None
) -> dict[str, int]:
    """Make Twitch's EventSub subscriptions those the channel's links (or all links) call for.
    Webhook transport: reconciled here with the app token. WebSocket transport: the listener
    holds the subscriptions on its sessions, so it is asked to make its pass now."""
    resources = resources_of(ctx)
    settings = resources.settings
    if not settings.twitch_enabled:
        return {}
    if settings.twitch_eventsub_transport == "websocket":
        await twitch_subscription_service.nudge_listener(resources.redis)
        return {}
    if not settings.twitch_eventsub_secret.get_secret_value():
        log.warning("Twitch EventSub webhooks need STREAMPOOLS_TWITCH_EVENTSUB_SECRET")
        return {}
    async with read_session(resources) as session:
        plan = await twitch_subscription_service.plan(session, settings, channel_id)
    try:
        async with TwitchApi(settings, resources.redis) as api:
            report = await twitch_subscription_service.reconcile_webhooks(api, settings, plan)
    except RateLimited as error:
        raise Retry(defer=max(1.0, error.reset_at - time.time())) from error
    except TwitchUnavailable as error:
        raise Retry(defer=RETRY_SECONDS) from error
    for broadcaster_id in sorted(report.revoked):
        async with unit_of_work(resources) as session:
            await twitch_subscription_service.grant_lost(
                session, broadcaster_id, "Twitch revoked the broadcaster's subscriptions"
            )
    if report.created or report.deleted or report.failed:
        log.info("Twitch subscriptions reconciled", extra=report.as_dict())
    return report.as_dict()


async def reconcile_kick_subscriptions(
    ctx: JobContext, channel_id: int | None = None
) -> dict[str, int]:
    """Make Kick's event subscriptions those the channel's links (or all links) call for, with
    the app token. A run over all links also checks who is live (``/public/v2/livestreams``)
    against the channels' stream state, and acts on a start or an end the webhook missed."""
    resources = resources_of(ctx)
    settings = resources.settings
    if not kick_configured(settings):
        return {}
    async with read_session(resources) as session:
        plan = await kick_subscription_service.plan(session, channel_id)
    try:
        async with KickApp(settings, resources.redis) as app:
            report = await kick_subscription_service.reconcile(app, plan)
            live = (
                None
                if channel_id is not None
                else await kick_subscription_service.live_now(app, plan)
            )
    except PlatformRateLimited as error:
        raise Retry(defer=max(1.0, error.reset_at - time.time())) from error
    except ApiUnavailable as error:
        raise Retry(defer=RETRY_SECONDS) from error
    if report.created or report.deleted or report.failed:
        log.info("Kick subscriptions reconciled", extra=report.as_dict())
    missed = 0
    if live is not None:
        async with read_session(resources) as session:
            known = await stream_service.kick_streams_known(
                session, {broadcaster for broadcaster, _, _ in plan.wanted}
            )
        for event in kick_subscription_service.missed(plan, live, known, datetime.now(UTC)):
            async with unit_of_work(resources) as session:
                await stream_service.dispatch(session, resources, event)
            missed += 1
    return report.as_dict() | {"missed": missed}


async def check_youtube_live(ctx: JobContext, channel_id: int | None = None) -> dict[str, int]:
    """Look at the active broadcasts of the linked YouTube channels due a look (a cron each
    minute; each channel every ``youtube_live_check_seconds``, sooner after a WebSub hint), or
    of one channel's links now (just linked)."""
    resources = resources_of(ctx)
    return await youtube_service.check_live(resources, channel_id, force=channel_id is not None)


async def renew_youtube_websub(ctx: JobContext) -> int:
    """Subscribe each linked YouTube channel's feed at the WebSub hub whose lease ends within a
    day (or was never verified)."""
    return await youtube_service.renew_websub(resources_of(ctx))
