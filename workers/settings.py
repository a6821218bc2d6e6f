"""The arq worker: every job and cron is registered here, under a stable dotted name. The stream
platforms' long-lived tasks (YouTube chat pollers, Twitch's EventSub WebSocket listener) run in
the integrations worker instead (``workers.integrations``, ``streampools integrations``)."""

import asyncio
import dataclasses
import logging
import time
from typing import Any, ClassVar, TypeVar

from arq import cron
from arq.connections import RedisSettings
from arq.cron import CronJob
from arq.worker import Function, func

from app.auth import tasks as auth_tasks
from app.automation import tasks as automation_tasks
from app.command import tasks as command_tasks
from app.demo import tasks as demo_tasks
from app.demo.service import demo_service
from app.inbox import tasks as inbox_tasks
from app.kit.jobs import deserialize, redis_settings, serialize
from app.kit.logging import configure_logging
from app.kit.metrics import MetricsListener, start_metrics_listener
from app.kit.resources import open_resources
from app.kit.worker import JobContext, resources_of
from app.kit.worker_metrics import instrumented, watch_queue_depth
from app.leaderboard import tasks as leaderboard_tasks
from app.ledger import tasks as ledger_tasks
from app.notification import tasks as notification_tasks
from app.platform import tasks as platform_tasks
from app.pool import tasks as pool_tasks
from app.settings import get_settings
from app.stream import tasks as stream_tasks
from app.webhooks import register_inbox_handlers

log = logging.getLogger(__name__)

# Each webhook vendor's events go to the domain that handles them (the inbox imports none).
register_inbox_handlers()

FUNCTIONS: list[Function] = [
    func(auth_tasks.prune_refresh_tokens, name="auth.prune_refresh_tokens"),
    func(ledger_tasks.check_ledger, name="ledger.check"),
    func(inbox_tasks.handle_inbox_event, name="inbox.handle", max_tries=25),
    func(inbox_tasks.sweep_inbox, name="inbox.sweep"),
    func(pool_tasks.settle_pool, name="pool.settle"),
    func(pool_tasks.refund_pool, name="pool.refund"),
    func(pool_tasks.notify_results, name="pool.notify_results"),
    func(pool_tasks.announce_pool, name="pool.announce"),
    func(pool_tasks.lock_due_pools, name="pool.lock_due"),
    func(pool_tasks.cancel_stale_pools, name="pool.cancel_stale"),
    func(pool_tasks.sweep_pools, name="pool.sweep"),
    func(leaderboard_tasks.apply_pool, name="leaderboard.apply_pool"),
    func(leaderboard_tasks.rebuild, name="leaderboard.rebuild"),
    func(leaderboard_tasks.sweep, name="leaderboard.sweep"),
    func(demo_tasks.reopen_demo_pool, name="demo.reopen_pool"),
    func(platform_tasks.sweep_merged_accounts, name="platform.sweep_merged"),
    # A batch of refreshes, each a Twitch request of at most a few seconds.
    func(platform_tasks.refresh_platform_tokens, name="platform.refresh_tokens", timeout=600),
    func(automation_tasks.open_delayed, name="automation.open_delayed"),
    func(automation_tasks.reschedule_delayed, name="automation.reschedule_delayed"),
    func(stream_tasks.reconcile_twitch_subscriptions, name="twitch.subscriptions.reconcile"),
    func(stream_tasks.reconcile_kick_subscriptions, name="kick.subscriptions.reconcile"),
    func(stream_tasks.check_youtube_live, name="youtube.live.check"),
    func(stream_tasks.renew_youtube_websub, name="youtube.websub.renew"),
    func(command_tasks.send_replies, name="command.send_replies"),
    func(command_tasks.sweep_replies, name="command.sweep_replies"),
    func(command_tasks.announce_pool, name="command.announce_pool"),
    func(command_tasks.announce_result, name="command.announce_result"),
    # One pass over an event's devices (200 batches for 100,000), retried with backoff.
    func(notification_tasks.push_event, name="notification.push", max_tries=8, timeout=900),
    func(notification_tasks.pool_opened, name="notification.pool_opened"),
    func(notification_tasks.locking_soon, name="notification.locking_soon"),
    func(notification_tasks.sweep, name="notification.sweep"),
]

CRON_JOBS: list[CronJob] = [
    cron(
        auth_tasks.prune_refresh_tokens,
        name="cron:auth.prune_refresh_tokens",
        hour={4},
        minute={17},
        unique=True,
    ),
    cron(ledger_tasks.check_ledger, name="cron:ledger.check", hour={3}, minute={7}, unique=True),
    cron(inbox_tasks.sweep_inbox, name="cron:inbox.sweep", second={30}, unique=True),
    cron(pool_tasks.lock_due_pools, name="cron:pool.lock_due", second=set(range(60)), unique=True),
    cron(pool_tasks.cancel_stale_pools, name="cron:pool.cancel_stale", second={5}, unique=True),
    # Every 5 s: a pool whose settlement job was lost (a Redis wipe, a worker killed mid-job)
    # is paid within seconds, and a paid pool whose results job was lost has its bettors told.
    # Cheap when there is nothing to do: two indexed queries.
    cron(
        pool_tasks.sweep_pools,
        name="cron:pool.sweep",
        second=set(range(0, 60, 5)),
        unique=True,
    ),
    cron(leaderboard_tasks.sweep, name="cron:leaderboard.sweep", second={45}, unique=True),
    # Bettors of pools closing within the lead (60 s by default), told once per pool.
    cron(
        notification_tasks.locking_soon,
        name="cron:notification.locking_soon",
        second=set(range(0, 60, 5)),
        unique=True,
    ),
    # Pushes held for quiet hours that ended, and pushes or fan-outs whose job was lost.
    cron(notification_tasks.sweep, name="cron:notification.sweep", second={25}, unique=True),
    # Delayed opens whose job was lost (a Redis wipe): queued again under the same job id.
    cron(
        automation_tasks.reschedule_delayed,
        name="cron:automation.reschedule_delayed",
        second={40},
        unique=True,
    ),
    # Chat replies whose flush job was lost (a Redis job queue wiped): flushed within 30 s.
    cron(
        command_tasks.sweep_replies,
        name="cron:command.sweep_replies",
        second={10, 40},
        unique=True,
    ),
    # Payouts and refunds of bets a chat-only viewer placed before merging, within a minute.
    cron(
        platform_tasks.sweep_merged_accounts,
        name="cron:platform.sweep_merged",
        second={20},
        unique=True,
    ),
    # Twitch's EventSub subscriptions against the verified links: missing or dead ones made
    # again, orphans deleted (webhooks; over a WebSocket, a nudge to the listener).
    cron(
        stream_tasks.reconcile_twitch_subscriptions,
        name="cron:twitch.subscriptions.reconcile",
        minute=set(range(0, 60, 5)),
        second={50},
        unique=True,
    ),
    # Kick's event subscriptions against the verified links, and its live state against the
    # channels' stream state (a start or end the webhook missed is acted on).
    cron(
        stream_tasks.reconcile_kick_subscriptions,
        name="cron:kick.subscriptions.reconcile",
        minute=set(range(0, 60, 5)),
        second={55},
        unique=True,
    ),
    # YouTube channels due a look at their broadcasts (each every youtube_live_check_seconds).
    cron(stream_tasks.check_youtube_live, name="cron:youtube.live.check", second={20}, unique=True),
    # WebSub leases ending within a day, renewed (hourly).
    cron(
        stream_tasks.renew_youtube_websub,
        name="cron:youtube.websub.renew",
        minute={17},
        second={0},
        unique=True,
    ),
    # Platform tokens expiring soon, every minute (FOR UPDATE SKIP LOCKED: one process per
    # token however many workers run it).
    cron(
        platform_tasks.refresh_platform_tokens,
        name="cron:platform.refresh_tokens",
        second={50},
        unique=True,
        timeout=600,
    ),
]
if demo_service.keeps_pool_open(get_settings()):
    # `make run`: a new demo pool within seconds of the last one closing.
    CRON_JOBS.append(
        cron(
            demo_tasks.reopen_demo_pool,
            name="cron:demo.reopen_pool",
            second=set(range(0, 60, 3)),
            unique=True,
        )
    )


Registered = TypeVar("Registered", Function, CronJob)


def _instrument(job: Registered) -> Registered:
    """The same job, counted and timed (``app.kit.worker_metrics``)."""
    cron_job = isinstance(job, CronJob)
    return dataclasses.replace(job, coroutine=instrumented(job.name, job.coroutine, cron=cron_job))


FUNCTIONS = [_instrument(function) for function in FUNCTIONS]
CRON_JOBS = [_instrument(cron_job) for cron_job in CRON_JOBS]


async def startup(ctx: JobContext) -> None:
    settings = get_settings()
    configure_logging(settings.log_level, settings.json_logs)
    ctx["resources"] = resources = await open_resources(settings)
    ctx["metrics"] = start_metrics_listener(settings, settings.worker_metrics_port)
    ctx["queue_depth"] = asyncio.create_task(watch_queue_depth(resources.jobs.zcard))
    if resources.push is None:
        log.info(
            "push notifications are off: STREAMPOOLS_FIREBASE_CREDENTIALS is not set"
            " (the inbox and the socket events still work)"
        )
    else:
        log.info(
            "push notifications through FCM for project %s at %s",
            resources.push.project_id,
            settings.fcm_api_base,
        )
    # Pay what a crash or a Redis wipe left unpaid now, not at the next cron tick. A job, so
    # start-up does not wait on it; one a second however many workers start together.
    await resources.jobs.enqueue_job("pool.sweep", _job_id=f"pool.sweep:startup:{int(time.time())}")


async def shutdown(ctx: JobContext) -> None:
    watcher = ctx.pop("queue_depth", None)
    if isinstance(watcher, asyncio.Task):
        watcher.cancel()
    metrics = ctx.pop("metrics", None)
    if isinstance(metrics, MetricsListener):
        metrics.close()
    if "resources" in ctx:
        await resources_of(ctx).close()


class WorkerSettings:
    functions: ClassVar[list[Any]] = FUNCTIONS
    cron_jobs: ClassVar[list[CronJob]] = CRON_JOBS
    on_startup = startup
    on_shutdown = shutdown
    redis_settings: ClassVar[RedisSettings] = redis_settings(
        get_settings().redis_url or "redis://127.0.0.1:6379"
    )
    job_serializer = staticmethod(serialize)
    job_deserializer = staticmethod(deserialize)
    max_jobs = 20
    job_timeout = 120
    keep_result = 60
    poll_delay = 0.1
    health_check_interval = 30
