"""YouTube's side of the stream pipeline: which linked channels are live (their active
broadcasts, looked at every ``youtube_live_check_seconds`` or sooner after a WebSub hint), and
their live chats polled by long-lived tasks of the integrations worker process
(``streampools integrations``, ``workers.integrations``).

Each live chat's poller is owned through a Redis lease (``app.kit.lease``) with a fencing token:
however many integrations workers run, one polls a chat; when its owner dies the lease runs out
within ``youtube_poller_lease_seconds`` and another replica takes over from the page token the last
owner stored (written only while its lease holds). Every message goes through the inbox keyed on
YouTube's message id, so a page read twice (a takeover, a crash before the page token was
stored) runs no command twice. The first page of a chat is its history: it is skipped (its page
token kept), never run as commands. ``offlineAt`` (or the chat gone) ends the poller.

Every call reserves its quota units first (``QuotaPlanner``); when Google answers
``quotaExceeded`` every poller waits for the reset and the live channels' owners are told why
chat betting paused (a notification, and ``paused`` in Redis for the dashboard)."""

import asyncio
import contextlib
import logging
import socket
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Final

import msgspec
from redis.asyncio import Redis

from app.inbox.service import inbox_service
from app.kit.lease import Lease
from app.kit.platforms import YouTubeClients, youtube_clients, youtube_configured
from app.kit.resources import Resources
from app.kit.uow import read_session, unit_of_work
from app.models.channel import Channel, Platform
from app.models.notification import NotificationKind
from app.models.platform import TokenPurpose
from app.notification.service import notification_service
from app.platform.oauth import oauth_refresher
from app.platform.tokens import platform_token_service
from app.settings import Settings
from app.stream.repository import stream_repository
from app.stream.youtube_chat import LIVE, LiveChat, live_chat, live_chats
from app.stream.youtube_quota import QuotaPlanner, pacific_day, seconds_to_reset
from integrations.errors import ApiError, ApiUnavailable, TokenRevoked
from integrations.events import ActorRole, PlatformActor, PlatformEvent
from integrations.youtube import websub
from integrations.youtube.api import (
    LIST_COST,
    ChatEnded,
    ChatMessage,
    QuotaExceeded,
)

log = logging.getLogger(__name__)

SOURCE: Final = "youtube"
#: Set while a channel's last live check is recent enough (deleted by a WebSub hint).
CHECKED: Final = "youtube:checked:{channel}"
#: A live chat's next page token (its history read); absent: the next page is the history.
PAGE: Final = "youtube:chat:{chat}:page"
#: Why a channel's chat betting paused (for the dashboard), until the quota resets.
PAUSED: Final = "youtube:paused:{channel}"
#: Set while a channel's WebSub subscription is verified and not due a renewal.
WEBSUB_LEASE: Final = "youtube:websub:{channel}"
POLLER_LEASE: Final = "youtube:poller:{channel}"
#: Chat messages that are text (others: super chats, memberships, deletions...).
TEXT_MESSAGE: Final = "textMessageEvent"

# Store the next page token only while the lease is still this poller's.
_STORE_PAGE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
    return 1
end
return 0
"""


def _now() -> datetime:
    return datetime.now(UTC)


def chat_event(youtube_channel: str, message: ChatMessage, received_at: datetime) -> PlatformEvent:
    """A YouTube chat message as the pipeline's chat event; its author named by channel id."""
    roles: set[ActorRole] = set()
    if message.author.is_owner:
        roles.add("broadcaster")
    if message.author.is_moderator:
        roles.add("moderator")
    if message.author.is_sponsor:
        roles.add("subscriber")
    name = message.author.display_name or message.author.channel_id
    return PlatformEvent(
        platform="youtube",
        kind="chat.message",
        delivery_id=message.id,
        occurred_at=message.published_at,
        received_at=received_at,
        channel_id=youtube_channel,
        author=PlatformActor(
            user_id=message.author.channel_id,
            login=name.lstrip("@").lower(),
            display_name=name.lstrip("@"),
            roles=frozenset(roles),
        ),
        message_id=message.id,
        text=message.text,
    )


async def record(resources: Resources, event: PlatformEvent) -> bool:
    """Store the event in the inbox once (keyed on its delivery id); a job dispatches it."""
    async with unit_of_work(resources) as session:
        return await inbox_service.record(
            session,
            source=SOURCE,
            external_id=event.delivery_id,
            event_type=event.kind,
            payload=msgspec.to_builtins(event),
        )


class YouTubeService:
    # --- live detection ---------------------------------------------------------------------

    async def check_live(
        self, resources: Resources, channel_id: int | None = None, *, force: bool = False
    ) -> dict[str, int]:
        """Look at the active broadcasts of each linked YouTube channel due a look (or of one
        channel's links): a live one starts its chat's poller (and a ``stream.online`` through
        the inbox, once per broadcast); a channel no longer live ends it (``stream.offline``)."""
        settings = resources.settings
        clients = youtube_clients(settings)
        if clients is None:
            return {}
        report = {"checked": 0, "online": 0, "offline": 0, "skipped": 0}
        planner = QuotaPlanner(settings, resources.redis)
        async with clients:
            async with read_session(resources) as session:
                links = await stream_repository.links(
                    session, Platform.youtube, channel_id=channel_id
                )
            for link in links:
                due = await resources.redis.set(
                    CHECKED.format(channel=link.broadcaster_id),
                    "1",
                    nx=True,
                    ex=settings.youtube_live_check_seconds,
                )
                if not due and not force and channel_id is None:
                    report["skipped"] += 1
                    continue
                if not await planner.reserve(LIST_COST, _now()):
                    report["skipped"] += 1
                    continue
                try:
                    outcome = await self._check_one(
                        resources, clients, link.channel_id, link.account_id, link.broadcaster_id
                    )
                except QuotaExceeded:
                    await self.quota_exceeded(resources)
                    break
                except ApiError as error:
                    log.warning(
                        "YouTube live check failed: %r",
                        error,
                        extra={"youtube_channel": link.broadcaster_id},
                    )
                    await resources.redis.delete(CHECKED.format(channel=link.broadcaster_id))
                    continue
                report["checked"] += 1
                if outcome:
                    report[outcome] += 1
        return report

    async def _check_one(
        self,
        resources: Resources,
        clients: YouTubeClients,
        channel_id: int,
        account_id: int,
        youtube_channel: str,
    ) -> str | None:
        token = await self._token(resources, account_id, TokenPurpose.broadcaster)
        if token is None:
            return None
        broadcasts = await clients.api.active_broadcasts(
            token, refresh=self._refresher(resources, clients, account_id, token)
        )
        live = next(
            (b for b in broadcasts if b.life_cycle_status == "live" and b.live_chat_id), None
        )
        known = await live_chat(resources.redis, youtube_channel)
        now = _now()
        if live is not None and live.live_chat_id is not None:
            if known is not None and known.broadcast_id == live.id:
                return None
            chat = LiveChat(
                channel_id=channel_id,
                account_id=account_id,
                broadcast_id=live.id,
                live_chat_id=live.live_chat_id,
            )
            await resources.redis.hset(LIVE, youtube_channel, msgspec.json.encode(chat).decode())  # type: ignore[misc]
            await record(
                resources,
                PlatformEvent(
                    platform="youtube",
                    kind="stream.online",
                    delivery_id=f"youtube:live:{live.id}",
                    occurred_at=live.actual_start_time or now,
                    received_at=now,
                    channel_id=youtube_channel,
                    stream_id=live.id,
                ),
            )
            return "online"
        if known is not None:
            await self.end(resources, youtube_channel, known, now)
            return "offline"
        return None

    async def end(
        self, resources: Resources, youtube_channel: str, chat: LiveChat, at: datetime
    ) -> None:
        """The broadcast ended: its chat is no longer polled; ``stream.offline`` once."""
        redis = resources.redis
        current = await live_chat(redis, youtube_channel)
        if current is not None and current.broadcast_id == chat.broadcast_id:
            await redis.hdel(LIVE, youtube_channel)  # type: ignore[misc]
        await redis.delete(PAGE.format(chat=chat.live_chat_id))
        await record(
            resources,
            PlatformEvent(
                platform="youtube",
                kind="stream.offline",
                delivery_id=f"youtube:offline:{chat.broadcast_id}",
                occurred_at=at,
                received_at=_now(),
                channel_id=youtube_channel,
                stream_id=chat.broadcast_id,
            ),
        )

    async def hint(self, resources: Resources, youtube_channel: str) -> None:
        """A WebSub notification named the channel: look at its broadcasts now."""
        await resources.redis.delete(CHECKED.format(channel=youtube_channel))
        await resources.jobs.enqueue_job(
            "youtube.live.check",
            None,
            _job_id=f"youtube.live.check:hint:{youtube_channel}",
        )

    # --- WebSub hints -------------------------------------------------------------------------

    def websub_callback(self, settings: Settings, youtube_channel: str) -> str:
        return f"{settings.public_url}/webhooks/youtube/websub/{youtube_channel}"

    def websub_secret(self, settings: Settings, youtube_channel: str) -> str | None:
        master = settings.youtube_websub_secret.get_secret_value()
        return websub.subscription_secret(master, youtube_channel) if master else None

    async def renew_websub(self, resources: Resources) -> int:
        """Subscribe (again) each linked channel whose WebSub lease ends within a day or was
        never verified; the hub verifies with a GET to the callback (``verified``)."""
        settings = resources.settings
        if (
            not youtube_configured(settings)
            or not settings.youtube_websub_secret.get_secret_value()
        ):
            return 0
        async with read_session(resources) as session:
            links = await stream_repository.links(session, Platform.youtube)
        asked = 0
        for link in links:
            channel = link.broadcaster_id
            if await resources.redis.exists(WEBSUB_LEASE.format(channel=channel)):
                continue
            secret = self.websub_secret(settings, channel)
            assert secret is not None
            try:
                await websub.subscribe(
                    settings.youtube_websub_hub,
                    callback=self.websub_callback(settings, channel),
                    channel_id=channel,
                    secret=secret,
                    lease_seconds=settings.youtube_websub_lease_seconds,
                )
            except ApiError as error:
                log.warning(
                    "WebSub subscription failed: %r", error, extra={"youtube_channel": channel}
                )
                continue
            asked += 1
        return asked

    async def websub_verified(
        self, resources: Resources, youtube_channel: str, topic: str, lease_seconds: int | None
    ) -> bool:
        """The hub checks a subscription of ours: True (answer its challenge) when the topic is
        the feed of a linked channel; its lease remembered, to renew a day before it ends."""
        if topic != websub.topic(youtube_channel):
            return False
        async with read_session(resources) as session:
            links = await stream_repository.links(
                session, Platform.youtube, broadcaster_id=youtube_channel
            )
        if not links:
            return False
        lease = lease_seconds or resources.settings.youtube_websub_lease_seconds
        await resources.redis.set(
            WEBSUB_LEASE.format(channel=youtube_channel), "1", ex=max(60, lease - 24 * 3600)
        )
        return True

    async def websub_notified(
        self, resources: Resources, youtube_channel: str, body: bytes, signature: str | None
    ) -> bool:
        """A notification: a hint to look at the channel's broadcasts now, if it is signed
        with the subscription's secret (else ignored: the hub is answered 2xx either way)."""
        secret = self.websub_secret(resources.settings, youtube_channel)
        if secret is None or not websub.signed(secret, body, signature):
            log.info(
                "WebSub notification ignored: bad signature",
                extra={"youtube_channel": youtube_channel},
            )
            return False
        named = {channel for channel, _video in websub.notified(body)}
        if youtube_channel not in named:
            return False
        await self.hint(resources, youtube_channel)
        return True

    # --- quota --------------------------------------------------------------------------------

    async def quota_exceeded(self, resources: Resources) -> None:
        """Google refused a call for the day: every call waits for the reset, and the owners of
        the live channels are told why chat betting paused (once a day each)."""
        now = _now()
        planner = QuotaPlanner(resources.settings, resources.redis)
        await planner.exhausted(now)
        await self.pause_notice(resources, now)

    async def pause_notice(self, resources: Resources, now: datetime) -> int:
        """Tell each live channel's owner why chat betting paused (once per Pacific day)."""
        reason = (
            "This site's daily YouTube API quota is spent: chat commands on YouTube pause"
            " until it resets at midnight Pacific time. Bets on the web still work."
        )
        until = int(seconds_to_reset(now))
        day = pacific_day(now)
        told = 0
        for youtube_channel, chat in (await live_chats(resources.redis)).items():
            await resources.redis.set(PAUSED.format(channel=youtube_channel), reason, ex=until)
            async with unit_of_work(resources) as session:
                channel = await session.get(Channel, chat.channel_id)
                if channel is None:
                    continue
                told += len(
                    await notification_service.notify(
                        session,
                        [channel.owner_id],
                        kind=NotificationKind.youtube_quota_paused,
                        event_key=f"youtube.quota_paused:{day}:{channel.id}",
                        title="YouTube chat betting paused",
                        body=reason,
                        link="/dashboard",
                        channel_id=channel.id,
                        data={"platform": "youtube", "resumes_in_seconds": until},
                    )
                )
        return told

    async def paused(self, redis: Redis, youtube_channel: str) -> str | None:
        """Why the channel's YouTube chat betting is paused now, if it is."""
        reason = await redis.get(PAUSED.format(channel=youtube_channel))
        return None if reason is None else str(reason)

    # --- tokens -------------------------------------------------------------------------------

    async def _token(
        self, resources: Resources, account_id: int, purpose: TokenPurpose
    ) -> str | None:
        async with read_session(resources) as session:
            return await platform_token_service.access_token(
                session, resources.settings, account_id, purpose
            )

    def _refresher(
        self, resources: Resources, clients: YouTubeClients, account_id: int, token: str
    ) -> Callable[[], Awaitable[str]]:
        async def refresh() -> str:
            async with unit_of_work(resources) as session:
                fresh = await platform_token_service.refresh_refused(
                    session,
                    resources.settings,
                    account_id,
                    TokenPurpose.broadcaster,
                    token,
                    oauth_refresher(clients),
                )
            if fresh is None:
                raise TokenRevoked("the broadcaster's Google grant needs a relink", status=401)
            return fresh

        return refresh


youtube_service = YouTubeService()


class ChatPollers:
    """An integrations worker's YouTube chat pollers: every ``tick`` it tries to take the lease
    of each live chat it does not poll yet, and starts a poller for each lease it gets."""

    def __init__(
        self,
        resources: Resources,
        *,
        owner: str | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.resources = resources
        self.owner = owner or f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"
        self._sleep = sleep
        self._clock = clock
        self.tasks: dict[str, asyncio.Task[None]] = {}
        #: The live chat each task polls.
        self._chats: dict[str, str] = {}
        ttl = resources.settings.youtube_poller_lease_seconds
        self._ttl_ms = int(ttl * 1000)

    def lease(self, youtube_channel: str) -> Lease:
        return Lease(
            self.resources.redis, POLLER_LEASE.format(channel=youtube_channel), self._ttl_ms
        )

    async def run(self) -> None:
        """Forever (until cancelled): take over live chats whose lease is free."""
        try:
            while True:
                try:
                    await self.tick()
                except Exception:
                    log.exception("YouTube pollers: a tick failed")
                await self._sleep(min(1.0, self._ttl_ms / 3000))
        finally:
            await self.stop()

    async def stop(self) -> None:
        for task in self.tasks.values():
            task.cancel()
        for task in list(self.tasks.values()):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.tasks.clear()

    async def tick(self) -> list[str]:
        """Start a poller for each live chat whose lease this replica takes; the chats it
        started."""
        started: list[str] = []
        live = await live_chats(self.resources.redis)
        for channel, task in list(self.tasks.items()):
            current = live.get(channel)
            if not task.done() and (
                current is None or current.live_chat_id != self._chats[channel]
            ):
                # Another broadcast began (or the stream ended): that chat's poller stops now,
                # so the next one reads the new chat's history before anyone writes in it.
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            if task.done():
                del self.tasks[channel]
        for youtube_channel, chat in live.items():
            if youtube_channel in self.tasks:
                continue
            lease = self.lease(youtube_channel)
            fence = await lease.acquire()
            if fence is None:
                continue
            log.info(
                "YouTube poller: lease taken",
                extra={
                    "youtube_channel": youtube_channel,
                    "fencing_token": fence,
                    "owner": self.owner,
                },
            )
            self._chats[youtube_channel] = chat.live_chat_id
            self.tasks[youtube_channel] = asyncio.create_task(
                self._hold(youtube_channel, chat, lease, fence)
            )
            started.append(youtube_channel)
        return started

    async def _hold(self, youtube_channel: str, chat: LiveChat, lease: Lease, fence: int) -> None:
        """Poll while the lease is renewed; stop at once when a renewal fails."""
        poll = asyncio.create_task(self.poll(youtube_channel, chat, lease, fence))
        try:
            while not poll.done():
                done, _ = await asyncio.wait({poll}, timeout=self._ttl_ms / 3000)
                if done:
                    break
                if not await lease.renew(fence):
                    log.warning(
                        "YouTube poller: lease lost", extra={"youtube_channel": youtube_channel}
                    )
                    poll.cancel()
                    break
            with contextlib.suppress(asyncio.CancelledError):
                await poll
        finally:
            if not poll.done():
                poll.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await poll
            await lease.release(fence)

    async def poll(self, youtube_channel: str, chat: LiveChat, lease: Lease, fence: int) -> None:
        """Read the chat page after page until it ends, each new message into the inbox."""
        resources = self.resources
        settings = resources.settings
        redis = resources.redis
        planner = QuotaPlanner(settings, redis)
        page_key = PAGE.format(chat=chat.live_chat_id)
        clients = youtube_clients(settings)
        if clients is None:
            return
        async with clients:
            failures = 0
            while True:
                now = self._clock()
                current = await live_chat(redis, youtube_channel)
                if current is None or current.live_chat_id != chat.live_chat_id:
                    return  # ended, or another broadcast began: the next tick polls that one
                if not await planner.reserve_poll(LIST_COST, now):
                    # Google's quota or our budget for polls is spent: chat betting pauses until
                    # the reset, and the owners are told (once a day).
                    await youtube_service.pause_notice(resources, now)
                    await self._sleep(min(60.0, seconds_to_reset(now)))
                    continue
                token = await youtube_service._token(
                    resources, chat.account_id, TokenPurpose.broadcaster
                )
                if token is None:
                    log.warning(
                        "YouTube poller: the broadcaster's grant needs a relink",
                        extra={"youtube_channel": youtube_channel},
                    )
                    return
                page_token = await redis.get(page_key)
                try:
                    page = await clients.api.chat_messages(
                        token,
                        chat.live_chat_id,
                        None if page_token is None else str(page_token),
                        refresh=youtube_service._refresher(
                            resources, clients, chat.account_id, token
                        ),
                    )
                except QuotaExceeded:
                    await youtube_service.quota_exceeded(resources)
                    continue
                except ChatEnded:
                    await youtube_service.end(resources, youtube_channel, chat, now)
                    return
                except (ApiUnavailable, TokenRevoked) as error:
                    failures += 1
                    log.warning(
                        "YouTube poller: %r", error, extra={"youtube_channel": youtube_channel}
                    )
                    if isinstance(error, TokenRevoked):
                        return
                    await self._sleep(min(60.0, 2.0**failures))
                    continue
                failures = 0
                if not await lease.held(fence):
                    return  # another replica owns the chat now: nothing from this one
                if page_token is not None:
                    received = self._clock()
                    for message in page.messages:
                        if message.type == TEXT_MESSAGE and message.text:
                            await record(resources, chat_event(youtube_channel, message, received))
                stored = await redis.eval(  # type: ignore[misc]
                    _STORE_PAGE,
                    2,
                    lease.name,
                    page_key,
                    str(fence),
                    page.next_page_token or page_token or "",
                    str(24 * 3600),
                )
                if not stored:
                    return
                if page.offline_at is not None:
                    await youtube_service.end(resources, youtube_channel, chat, page.offline_at)
                    return
                live = await redis.hlen(LIVE)  # type: ignore[misc]
                wait = await planner.poll_interval(
                    self._clock(), int(live), page.polling_interval_millis
                )
                await self._sleep(wait if wait is not None else 60.0)
