"""Kick's side of the stream pipeline: the public key its webhooks are verified with, the event
subscriptions the verified links call for (reconciled against Kick's list, which is the source
of truth: nothing is stored here), and the live state of linked channels.

The key: the one configured (``kick_public_key``, from Kick's documentation) and the one Kick's
API serves, cached in Redis. A delivery that none of them verifies makes us fetch the key again
(a rotation), at most once per ``kick_public_key_refetch_seconds`` across processes, so forged
requests cannot make us hammer Kick; then it is refused."""

import logging
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Final

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.platforms import kick_clients
from app.models.channel import LinkStatus, Platform
from app.settings import Settings
from app.stream.errors import KickNotConfigured
from app.stream.repository import stream_repository
from app.stream.subscriptions import AppApi, ReconcileReport
from integrations.errors import ApiError, RequestFailed
from integrations.events import PlatformEvent
from integrations.kick import webhooks
from integrations.kick.api import CHAT_MESSAGE_SENT, LIVESTREAM_STATUS_UPDATED, KickApi
from integrations.kick.oauth import KickOAuth

log = logging.getLogger(__name__)

#: The PEM Kick's API served last.
PUBLIC_KEY_KEY: Final = "kick:public_key"
#: Set while another fetch of the key is not allowed yet.
FETCHED_KEY: Final = "kick:public_key:fetched"


@lru_cache(maxsize=8)
def _key(pem: str) -> RSAPublicKey:
    return webhooks.load_public_key(pem)


@dataclass(frozen=True, slots=True)
class KickKeys:
    """Where the keys come from: the settings and Redis."""

    settings: Settings
    redis: Redis

    async def known(self) -> list[RSAPublicKey]:
        """The configured key and the one fetched last (fetched now if there is none)."""
        keys = [_key(self.settings.kick_public_key)] if self.settings.kick_public_key else []
        try:
            cached = await self.redis.get(PUBLIC_KEY_KEY)
        except RedisError:
            log.warning("Kick's cached public key unavailable", exc_info=True)
            cached = None
        if cached:
            keys.append(_key(cached.decode() if isinstance(cached, bytes) else str(cached)))
        elif not keys:
            keys = await self.fetch_again()
        return keys

    async def fetch_again(self) -> list[RSAPublicKey]:
        """The configured key and the key Kick serves now, fetched if no fetch happened within
        ``kick_public_key_refetch_seconds``; [] when neither is to be had."""
        configured = [_key(self.settings.kick_public_key)] if self.settings.kick_public_key else []
        seconds = self.settings.kick_public_key_refetch_seconds
        if not await self.redis.set(FETCHED_KEY, 1, nx=True, ex=seconds):
            return configured
        clients = kick_clients(self.settings, max_retries=0)
        if clients is None:
            return configured
        try:
            async with clients:
                pem = await clients.api.public_key()
            fetched = _key(pem)
        except (ApiError, ValueError):
            log.warning("Kick's public key could not be fetched", exc_info=True)
            return configured
        await self.redis.set(PUBLIC_KEY_KEY, pem, ex=self.settings.kick_public_key_ttl_seconds)
        return [*configured, fetched]


#: The job that reconciles one channel's Kick subscriptions (its id) or all of them.
RECONCILE_JOB: Final = "kick.subscriptions.reconcile"

#: What every verified Kick link subscribes to (name, version): going live and offline, chat.
EVENTS: Final = ((LIVESTREAM_STATUS_UPDATED, 1), (CHAT_MESSAGE_SENT, 1))

#: (broadcaster user id, event, version): what makes two subscriptions the same.
Key = tuple[str, str, int]


class KickApp(AppApi[KickOAuth, KickApi]):
    """Kick's API and OAuth clients, and the app access token (client credentials), with which
    the app's subscriptions are listed, made and deleted."""

    def __init__(self, settings: Settings, redis: Redis) -> None:
        clients = kick_clients(settings)
        if clients is None:
            raise KickNotConfigured()
        super().__init__(clients, settings, redis)


@dataclass(frozen=True, slots=True)
class KickPlan:
    """The subscriptions that should exist, and whose are looked at (None: everyone's)."""

    wanted: frozenset[Key]
    broadcasters: frozenset[str] | None


class KickSubscriptionService:
    async def plan(self, session: AsyncSession, channel_id: int | None = None) -> KickPlan:
        """What should exist for one channel's Kick links (or for all of them): every verified
        link's stream status and chat. A link that needs a relink keeps none: its owner's grant
        is gone."""
        links = await stream_repository.links(session, Platform.kick, channel_id=channel_id)
        wanted = frozenset(
            (link.broadcaster_id, name, version)
            for link in links
            if link.status is LinkStatus.verified
            for name, version in EVENTS
        )
        broadcasters = (
            None if channel_id is None else frozenset(link.broadcaster_id for link in links)
        )
        return KickPlan(wanted=wanted, broadcasters=broadcasters)

    async def reconcile(self, app: KickApp, plan: KickPlan) -> ReconcileReport:
        """Make Kick's list match the plan: orphans (no longer wanted, duplicates) deleted,
        missing ones created (one request per broadcaster). Raises ``RateLimited`` or
        ``ApiUnavailable`` when Kick cannot be worked with now; a subscription Kick refuses is
        logged and counted as failed."""
        report = ReconcileReport()
        kept: set[Key] = set()
        for subscription in await app.api.list_subscriptions(await app.app_token()):
            broadcaster = subscription.broadcaster_user_id
            if plan.broadcasters is not None and broadcaster not in plan.broadcasters:
                continue
            key = (broadcaster, subscription.event, subscription.version)
            if key not in plan.wanted or key in kept:
                try:
                    await app.api.delete_subscription(await app.app_token(), subscription.id)
                except RequestFailed as error:
                    log.warning("Kick refused to delete a subscription: %s", error)
                    report.failed += 1
                    continue
                report.deleted += 1
                continue
            kept.add(key)
            report.existing += 1
        missing: dict[str, list[tuple[str, int]]] = {}
        for broadcaster, name, version in sorted(plan.wanted - kept):
            missing.setdefault(broadcaster, []).append((name, version))
        for broadcaster, events in missing.items():
            try:
                created = await app.api.create_subscriptions(
                    await app.app_token(),
                    broadcaster_user_id=broadcaster,
                    events=events,
                    refresh=app.new_app_token,
                )
            except RequestFailed as error:
                log.warning(
                    "Kick refused event subscriptions",
                    extra={"broadcaster": broadcaster, "error": str(error)},
                )
                report.failed += len(events)
                continue
            for item in created:
                if item.subscription_id is None:
                    log.warning("Kick refused %s: %s", item.name, item.error)
                    report.failed += 1
                else:
                    report.created += 1
        return report

    async def live_now(self, app: KickApp, plan: KickPlan) -> dict[str, datetime]:
        """Which linked broadcasters are live now, by their stream's start (``GET
        /public/v2/livestreams``): what the stream state is checked against, in case a
        webhook was lost."""
        broadcasters = sorted({broadcaster for broadcaster, _, _ in plan.wanted})
        live: dict[str, datetime] = {}
        for start in range(0, len(broadcasters), LIVESTREAMS_PER_CALL):
            batch = broadcasters[start : start + LIVESTREAMS_PER_CALL]
            for stream in await app.api.livestreams(await app.app_token(), batch):
                if stream.started_at is not None:
                    live[stream.broadcaster_user_id] = stream.started_at
        return live

    def missed(
        self, plan: KickPlan, live: dict[str, datetime], known: dict[str, bool], now: datetime
    ) -> list[PlatformEvent]:
        """Stream events the webhook did not bring: a linked broadcaster live while their
        channel is known offline (or the reverse). ``known`` is each broadcaster's channel's
        stream state (online or not). Their delivery ids name the stream (or the hour), so a
        check run twice acts once."""
        events: list[PlatformEvent] = []
        for broadcaster in sorted({broadcaster for broadcaster, _, _ in plan.wanted}):
            started = live.get(broadcaster)
            online = known.get(broadcaster, False)
            if started is not None and not online:
                events.append(
                    PlatformEvent(
                        platform="kick",
                        kind="stream.online",
                        delivery_id=f"kick:live:{broadcaster}:{started.isoformat()}",
                        occurred_at=started,
                        received_at=now,
                        channel_id=broadcaster,
                    )
                )
            elif started is None and online:
                events.append(
                    PlatformEvent(
                        platform="kick",
                        kind="stream.offline",
                        delivery_id=f"kick:offline:{broadcaster}:{now:%Y-%m-%dT%H}",
                        occurred_at=now,
                        received_at=now,
                        channel_id=broadcaster,
                    )
                )
        return events


#: Broadcasters asked about in one ``livestreams`` call.
LIVESTREAMS_PER_CALL: Final = 50

kick_subscription_service = KickSubscriptionService()
