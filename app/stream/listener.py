"""The EventSub WebSocket transport, for a server without a public HTTPS callback (a streamer's
laptop): one integrations worker (``workers.integrations``) holds the connections, subscribes
on each new session with users' tokens, and stores every notification and revocation in the
inbox as the webhook does, so the same job handles both.

One replica at a time: the listener takes a Redis lease (``app.kit.lease``), renews it every
third of its ttl, and drops every connection as soon as a renewal fails; the others keep
trying to take it, so a dead holder is replaced within a ttl. A stale holder never subscribes
(the lease is checked right before), and what it may still store in the ttl is deduplicated by
the inbox on Twitch's message id.

A WebSocket session holds one user's subscriptions (Twitch counts them per user and client id),
so there is one connection per user whose token subscribes: each linked broadcaster (stream and
prediction events) and the bot (chat of every linked channel)."""

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Final

import msgspec
from redis.exceptions import RedisError

from app.inbox.schemas import VerifiedEvent
from app.inbox.service import inbox_service
from app.kit.lease import Lease
from app.kit.resources import Resources
from app.kit.uow import unit_of_work
from app.platform.errors import UnknownPlatformAccount
from app.platform.oauth import oauth_refresher
from app.platform.tokens import platform_token_service
from app.settings import Settings
from app.stream.subscriptions import (
    LISTENER_NUDGE_KEY,
    Key,
    TwitchApi,
    Wanted,
    key_of,
    twitch_subscription_service,
)
from integrations.twitch.errors import TokenRevoked, TwitchError, TwitchRequestFailed
from integrations.twitch.eventsub import EventSubMessage
from integrations.twitch.eventsub_ws import EventSubWebSocket, SessionStarted
from integrations.twitch.helix import websocket_transport

log = logging.getLogger(__name__)

LEASE_NAME: Final = "twitch:eventsub:ws:lease"


def inbox_event(message: EventSubMessage) -> VerifiedEvent:
    """How an EventSub message is stored in the inbox, from a webhook or a WebSocket alike."""
    return VerifiedEvent(
        external_id=message.message_id,
        event_type=message.subscription.type
        if message.message_type == "notification"
        else message.message_type,
        payload=msgspec.to_builtins(message),
    )


@dataclass(eq=False)
class _Connection:
    """One user's WebSocket: the subscriptions it should carry and those made on its session."""

    owner_id: str
    wanted: dict[Key, Wanted]
    session_id: str | None = None
    made: set[Key] = field(default_factory=set)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    task: "asyncio.Task[None] | None" = None


class EventSubListener:
    def __init__(
        self,
        resources: Resources,
        *,
        lease_ttl_ms: int = 15_000,
        pass_seconds: int = 60,
        max_backoff_seconds: float = 60,
        keepalive_slack_seconds: float = 5,
    ) -> None:
        self._resources = resources
        self._lease = Lease(resources.redis, LEASE_NAME, lease_ttl_ms)
        self._pass_seconds = pass_seconds
        self._max_backoff = max_backoff_seconds
        self._slack = keepalive_slack_seconds
        self._connections: dict[str, _Connection] = {}
        self._api: TwitchApi | None = None

    async def run(self) -> None:
        """Forever (until cancelled): take the lease when it is free, then hold the
        connections for as long as it stays ours."""
        failures = 0
        while True:
            try:
                token = await self._lease.acquire()
            except RedisError:
                log.warning("EventSub listener: Redis unavailable", exc_info=True)
                token = None
            if token is None:
                await asyncio.sleep(self._lease.ttl_ms / 3000)
                continue
            log.info("EventSub listener: lease taken", extra={"fencing_token": token})
            try:
                await self._hold(token)
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception:
                failures += 1
                log.exception("EventSub listener failed")
                await asyncio.sleep(self._backoff(failures))

    async def _hold(self, token: int) -> None:
        serving = asyncio.create_task(self._serve(token))
        try:
            while True:
                done, _ = await asyncio.wait({serving}, timeout=self._lease.ttl_ms / 3000)
                if done:
                    serving.result()  # its failure, if it failed
                    return
                if not await self._renew(token):
                    log.warning("EventSub listener: lease lost", extra={"fencing_token": token})
                    return
        finally:
            if not serving.done():
                serving.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await serving
            with contextlib.suppress(RedisError):
                await self._lease.release(token)

    async def _renew(self, token: int) -> bool:
        try:
            return await self._lease.renew(token)
        except RedisError:
            return False  # cannot prove it is still ours: stop, as if lost

    async def _serve(self, token: int) -> None:
        """Passes over the links (at start, every ``pass_seconds`` and when nudged): a
        connection per subscribing user, each session's missing subscriptions made."""
        self._api = TwitchApi(self._resources.settings, self._resources.redis)
        try:
            while True:
                try:
                    await self._pass(token)
                except TwitchError:
                    log.warning("EventSub listener: Twitch failed during a pass", exc_info=True)
                await self._wait_for_nudge()
        finally:
            for connection in self._connections.values():
                if connection.task is not None:
                    connection.task.cancel()
            tasks = [c.task for c in self._connections.values() if c.task is not None]
            await asyncio.gather(*tasks, return_exceptions=True)
            self._connections.clear()
            await self._api.aclose()
            self._api = None

    async def _pass(self, token: int) -> None:
        settings = self._resources.settings
        async with unit_of_work(self._resources) as session:
            plan = await twitch_subscription_service.plan(session, settings)
        by_owner: dict[str, dict[Key, Wanted]] = {}
        for item in plan.wanted:
            by_owner.setdefault(item.owner_id, {})[item.key] = item
        for owner_id in list(self._connections):
            if owner_id not in by_owner:
                gone = self._connections.pop(owner_id)
                if gone.task is not None:
                    gone.task.cancel()
        for owner_id, wanted in by_owner.items():
            connection = self._connections.get(owner_id)
            if connection is None:
                connection = self._connections[owner_id] = _Connection(owner_id, wanted)
                connection.task = asyncio.create_task(self._listen(connection, token))
            else:
                connection.wanted = wanted
                await self._subscribe(connection, token)

    async def _wait_for_nudge(self) -> None:
        redis = self._resources.redis
        try:
            nudged = await redis.blpop([LISTENER_NUDGE_KEY], timeout=self._pass_seconds)  # type: ignore[misc]
            if nudged:
                await redis.delete(LISTENER_NUDGE_KEY)  # several nudges: one pass
        except RedisError:
            await asyncio.sleep(self._pass_seconds)

    async def _listen(self, connection: _Connection, token: int) -> None:
        """One user's connection, reconnected with backoff whenever it is lost (a new session:
        its subscriptions are made again)."""
        failures = 0
        url = self._resources.settings.twitch_eventsub_ws_url
        while True:
            try:
                async with EventSubWebSocket(url, keepalive_slack_seconds=self._slack) as ws:
                    async for item in ws:
                        if isinstance(item, SessionStarted):
                            connection.session_id = item.session_id
                            connection.made.clear()
                            await self._subscribe(connection, token)
                            if connection.made:
                                failures = 0
                        else:
                            await self._received(connection, item)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning(
                    "EventSub connection lost",
                    extra={"owner_id": connection.owner_id},
                    exc_info=True,
                )
            connection.session_id = None
            failures += 1
            await asyncio.sleep(self._backoff(failures))

    async def _received(self, connection: _Connection, message: EventSubMessage) -> None:
        if message.message_type == "revocation":
            subscription = message.subscription
            # Made again at the next pass if still wanted (the inbox job nudges one).
            connection.made.discard(
                key_of(subscription.type, subscription.version, subscription.condition.items())
            )
        event = inbox_event(message)
        try:
            async with unit_of_work(self._resources) as session:
                await inbox_service.record(
                    session,
                    source="twitch",
                    external_id=event.external_id,
                    event_type=event.event_type,
                    payload=event.payload or {},
                )
        except Exception:
            # Twitch does not send it again over a WebSocket: say what was lost.
            log.exception(
                "EventSub message not stored",
                extra={"message_id": message.message_id, "type": message.subscription.type},
            )

    async def _subscribe(self, connection: _Connection, token: int) -> None:
        """Make the session's missing subscriptions, each with its user's token."""
        async with connection.lock:
            session_id = connection.session_id
            if session_id is None or self._api is None:
                return
            for key, item in list(connection.wanted.items()):
                if key in connection.made:
                    continue
                if not await self._lease.held(token):
                    return  # another replica holds the connections now
                if await self._create(item, session_id):
                    connection.made.add(key)

    async def _create(self, item: Wanted, session_id: str) -> bool:
        assert self._api is not None
        access = await self._user_token(item)
        if access is None:
            return False

        api = self._api

        async def again() -> str:
            # Twitch refused the token before its time: refreshed now (or as another process
            # just refreshed it), once; a refused refresh marks the grant needs_relink.
            async with unit_of_work(self._resources) as session:
                current = await platform_token_service.refresh_refused(
                    session,
                    self._resources.settings,
                    item.account_id,
                    item.purpose,
                    access,
                    oauth_refresher(api.clients),
                )
            if current is None:
                raise TokenRevoked("the grant needs a relink", status=401)
            return current

        try:
            created = await self._api.helix.create_subscription(
                access,
                subscription_type=item.type,
                condition=item.condition,
                transport=websocket_transport(session_id),
                version=item.version,
                refresh=again,
            )
        except TokenRevoked:
            async with unit_of_work(self._resources) as session:
                await platform_token_service.mark_needs_relink(
                    session, item.account_id, item.purpose, "Twitch refused the token"
                )
            return False
        except TwitchRequestFailed as error:
            log.warning(
                "Twitch refused an EventSub subscription",
                extra={"type": item.type, "channel_id": item.channel_id, "error": str(error)},
            )
            return False
        return created.subscription is not None or created.already_exists

    async def _user_token(self, item: Wanted) -> str | None:
        settings = self._resources.settings
        async with unit_of_work(self._resources) as session:
            try:
                return await platform_token_service.access_token(
                    session, settings, item.account_id, item.purpose
                )
            except UnknownPlatformAccount:
                return None

    def _backoff(self, failures: int) -> float:
        return float(min(self._max_backoff, 0.5 * 2 ** min(failures, 10)))


def listener_wanted(settings: Settings) -> bool:
    """Whether this process should run the listener: Twitch configured, WebSocket transport."""
    return bool(settings.twitch_enabled and settings.twitch_eventsub_transport == "websocket")
