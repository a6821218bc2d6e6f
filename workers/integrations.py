"""The integrations worker (``streampools integrations``): the stream platforms' long-lived
tasks, in a process of their own beside the arq worker (which keeps the jobs and crons).

- YouTube's chat pollers (``app.stream.youtube.ChatPollers``): each live chat is owned through a
  Redis lease with a fencing token, so replicas share the chats without overlap, and a chat
  whose owner died is taken over within ``youtube_poller_lease_seconds``.
- Twitch's EventSub WebSocket listener (``app.stream.listener.EventSubListener``), when Twitch
  delivers over a WebSocket: one replica at a time holds it, through a lease too.

What they read goes into the inbox keyed on the platform's message id (an ``inbox.handle`` job
in the arq worker runs it), so a page read again after a takeover runs nothing twice. On SIGTERM
or SIGINT every task stops and gives its leases up: another replica takes over at once.
Fatal start errors (PostgreSQL or Redis unreachable, the metrics port taken) exit non-zero."""

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from prometheus_client import Gauge
from sqlalchemy import text

from app.kit.logging import configure_logging
from app.kit.metrics import MetricsListener, start_metrics_listener
from app.kit.platforms import youtube_configured
from app.kit.resources import Resources, open_resources
from app.settings import Settings, get_settings
from app.stream.listener import EventSubListener, listener_wanted
from app.stream.youtube import ChatPollers

log = logging.getLogger(__name__)

#: How long a stop waits for the tasks to give their leases up before the process exits anyway.
STOP_TIMEOUT_SECONDS = 10.0

RUNNING = Gauge(
    "streampools_integrations_running",
    "1 for each integration this process runs, 0 for those off (not configured).",
    ["integration"],
)
CHATS_POLLED = Gauge(
    "streampools_youtube_chats_polled",
    "YouTube live chats whose poller lease this process holds.",
)


@dataclass(frozen=True)
class Integration:
    """One long-lived task of the process: ``start`` makes it (None when it is off, ``off``
    says why)."""

    name: str
    start: Callable[[Resources, str], Coroutine[Any, Any, None]] | None
    off: str = ""


async def _youtube_pollers(resources: Resources, owner: str) -> None:
    pollers = ChatPollers(resources, owner=owner)
    CHATS_POLLED.set_function(lambda: len(pollers.tasks))
    await pollers.run()


async def _twitch_listener(resources: Resources, owner: str) -> None:
    await EventSubListener(resources).run()


def integrations(settings: Settings) -> list[Integration]:
    """Every integration, each on or off (and why) under ``settings``."""
    youtube = (
        Integration("youtube-chat-pollers", _youtube_pollers)
        if youtube_configured(settings)
        else Integration(
            "youtube-chat-pollers",
            None,
            "YouTube is not configured (STREAMPOOLS_YOUTUBE_CLIENT_ID, _CLIENT_SECRET)",
        )
    )
    if listener_wanted(settings):
        twitch = Integration("twitch-eventsub-websocket", _twitch_listener)
    elif not settings.twitch_enabled:
        twitch = Integration(
            "twitch-eventsub-websocket", None, "Twitch is not configured (STREAMPOOLS_TWITCH_*)"
        )
    else:
        twitch = Integration(
            "twitch-eventsub-websocket",
            None,
            "Twitch's EventSub comes by webhook to the web process"
            " (STREAMPOOLS_TWITCH_EVENTSUB_TRANSPORT=webhook)",
        )
    return [youtube, twitch]


def owner_name() -> str:
    """This replica's name in the logs and as the pollers' owner: host, pid and a nonce."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


async def _check_servers(resources: Resources) -> None:
    """Fail now, not at the first poll, when PostgreSQL or Redis cannot be reached."""
    await resources.redis.ping()
    async with resources.engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


async def serve(settings: Settings, stop: asyncio.Event | None = None) -> int:
    """Run every configured integration until ``stop`` is set (SIGTERM or SIGINT when not
    given); 0 after a clean stop, 1 when it could not start or a task ended by itself."""
    stop = stop or _stop_on_signals()
    owner = owner_name()
    chosen = integrations(settings)
    if not settings.database_url or not settings.redis_url:
        log.error("integrations worker cannot start: set DATABASE_URL and REDIS_URL")
        return 1
    try:
        resources = await open_resources(settings)
    except Exception as error:
        log.error("integrations worker cannot start: %r", error)
        return 1
    metrics: MetricsListener | None = None
    tasks: dict[str, asyncio.Task[None]] = {}
    try:
        try:
            await _check_servers(resources)
            metrics = start_metrics_listener(settings, settings.integrations_metrics_port)
        except Exception as error:
            log.error("integrations worker cannot start: %r", error)
            return 1
        running = [i for i in chosen if i.start is not None]
        off = [i for i in chosen if i.start is None]
        log.info(
            "integrations worker %s started: running %s; off: %s",
            owner,
            ", ".join(i.name for i in running) or "nothing",
            "; ".join(f"{i.name} ({i.off})" for i in off) or "none",
            extra={
                "owner": owner,
                "running": [i.name for i in running],
                "off": [i.name for i in off],
                "metrics_port": metrics.port if metrics is not None else None,
            },
        )
        for integration in chosen:
            RUNNING.labels(integration.name).set(integration.start is not None)
            if integration.start is not None:
                tasks[integration.name] = asyncio.create_task(
                    integration.start(resources, owner), name=integration.name
                )
        stopping = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait(
            {stopping, *tasks.values()}, return_when=asyncio.FIRST_COMPLETED
        )
        stopping.cancel()
        ended = [name for name, task in tasks.items() if task in done]
        for name in ended:
            task = tasks[name]
            failure = None if task.cancelled() else task.exception()
            log.error("integration %s ended by itself: %r; stopping", name, failure)
        return 1 if ended else 0
    finally:
        await _stop_tasks(tasks, owner)
        if metrics is not None:
            metrics.close()
        await resources.close()


async def _stop_tasks(tasks: dict[str, asyncio.Task[None]], owner: str) -> None:
    """Cancel every task and wait for each to give its leases up (bounded)."""
    for task in tasks.values():
        task.cancel()
    if tasks:
        _, late = await asyncio.wait(tasks.values(), timeout=STOP_TIMEOUT_SECONDS)
        if late:
            log.warning(
                "integrations worker %s: %s did not stop within %.0f s",
                owner,
                ", ".join(t.get_name() for t in late),
                STOP_TIMEOUT_SECONDS,
            )
        for task in tasks.values():
            if task.done() and not task.cancelled():
                with contextlib.suppress(Exception):
                    task.result()
        log.info("integrations worker %s stopped: its leases given up", owner)


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    return stop


def main() -> int:
    """``streampools integrations``: the settings from the environment, as every process."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.json_logs)
    return asyncio.run(serve(settings))


if __name__ == "__main__":
    sys.exit(main())
