"""Jobs of the stream pipeline: Twitch's EventSub subscriptions kept right."""

import logging
import time

from arq import Retry

from app.kit.uow import read_session, unit_of_work
from app.kit.worker import JobContext, resources_of
from app.stream.subscriptions import TwitchApi, twitch_subscription_service
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
