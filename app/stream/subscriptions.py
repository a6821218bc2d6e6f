"""Twitch EventSub subscriptions kept right: what should exist for the verified channel links,
reconciled against what Twitch lists (Twitch's list is the source of truth: nothing is stored
here), and revocations acted on.

Webhook transport: subscriptions are created with the app access token, kept in Redis
(encrypted) until shortly before it expires. WebSocket transport: ``app.stream.listener``
creates them with users' tokens on its sessions, from the same ``desired`` set."""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Final, Generic, Literal
from urllib.parse import urlsplit

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.cipher import UndecryptableSecret, cipher
from app.kit.effects import enqueue_after_commit
from app.kit.platforms import ApiT, Closing, OAuthT, PlatformClients, twitch_clients
from app.models.channel import LinkStatus, Platform
from app.models.platform import PlatformAccount, TokenPurpose, TokenStatus
from app.platform.tokens import platform_token_service
from app.settings import Settings
from app.stream.errors import TwitchNotConfigured
from app.stream.repository import PlatformLink, stream_repository
from integrations.twitch import eventsub
from integrations.twitch.errors import TwitchRequestFailed
from integrations.twitch.eventsub import Subscription
from integrations.twitch.helix import HelixClient, webhook_transport
from integrations.twitch.oauth import TwitchOAuth

log = logging.getLogger(__name__)

#: The job that reconciles one channel's subscriptions (its id) or all of them (no argument).
RECONCILE_JOB: Final = "twitch.subscriptions.reconcile"
#: How long before its expiry a cached app token is no longer used.
APP_TOKEN_MARGIN_SECONDS: Final = 600
#: A WebSocket listener waits on this list between its passes; a reconcile pushes to it.
LISTENER_NUDGE_KEY: Final = "twitch:eventsub:ws:nudge"

STREAM_TYPES: Final = (eventsub.STREAM_ONLINE, eventsub.STREAM_OFFLINE)
PREDICTION_TYPES: Final = (
    eventsub.PREDICTION_BEGIN,
    eventsub.PREDICTION_PROGRESS,
    eventsub.PREDICTION_LOCK,
    eventsub.PREDICTION_END,
)
#: Either lets the app read a broadcaster's predictions (channel.prediction.*).
PREDICTION_SCOPES: Final = frozenset({"channel:read:predictions", "channel:manage:predictions"})
#: Statuses of a subscription Twitch no longer delivers: deleted, then made again if wanted.
DEAD_STATUSES: Final = frozenset(
    {
        "authorization_revoked",
        "user_removed",
        "notification_failures_exceeded",
        "version_removed",
        "webhook_callback_verification_failed",
    }
)
#: Revocation reasons that mean the user in the condition withdrew (or lost) their grant.
GRANT_LOST: Final = frozenset({"authorization_revoked", "user_removed"})

Transport = Literal["webhook", "websocket"]
#: (type, version, condition as sorted pairs): what makes two subscriptions the same.
Key = tuple[str, str, tuple[tuple[str, str], ...]]


def key_of(subscription_type: str, version: str, condition: Iterable[tuple[str, object]]) -> Key:
    pairs = tuple(
        sorted((name, str(value)) for name, value in condition if value not in ("", None))
    )
    return subscription_type, version, pairs


@dataclass(frozen=True, slots=True)
class Wanted:
    """One subscription that should exist, and whose user token creates it over a WebSocket."""

    type: str
    condition: dict[str, str]
    channel_id: int
    #: The platform account whose grant (``purpose``) creates it over a WebSocket.
    account_id: int
    purpose: TokenPurpose
    #: That account's Twitch user id: a WebSocket session holds one user's subscriptions.
    owner_id: str
    version: str = "1"

    @property
    def key(self) -> Key:
        return key_of(self.type, self.version, self.condition.items())


@dataclass(frozen=True, slots=True)
class Plan:
    """What should exist, and which broadcasters' subscriptions are looked at (None: all)."""

    wanted: list[Wanted]
    broadcasters: frozenset[str] | None


@dataclass(slots=True)
class ReconcileReport:
    created: int = 0
    existing: int = 0
    deleted: int = 0
    failed: int = 0
    #: Broadcasters whose subscriptions Twitch revoked for a lost grant (marked needs_relink).
    revoked: set[str] = field(default_factory=set)

    def as_dict(self) -> dict[str, int]:
        return {
            "created": self.created,
            "existing": self.existing,
            "deleted": self.deleted,
            "failed": self.failed,
            "revoked": len(self.revoked),
        }


def desired(
    links: Iterable[PlatformLink],
    bot: PlatformAccount | None,
    transport: Transport,
) -> list[Wanted]:
    """The subscriptions the links call for: stream start and end for every verified link,
    predictions when the broadcaster granted a predictions scope, chat when a bot is linked.
    Over a WebSocket every subscription needs a user's token, so stream events need the
    broadcaster's grant too."""
    wanted: list[Wanted] = []
    for link in links:
        if link.status is not LinkStatus.verified:
            continue
        granted = link.grant_status is TokenStatus.active
        if granted or transport == "webhook":
            wanted.extend(_broadcasters(link, STREAM_TYPES))
        if granted and link.scopes & PREDICTION_SCOPES:
            wanted.extend(_broadcasters(link, PREDICTION_TYPES))
        if bot is not None:
            wanted.append(
                Wanted(
                    type=eventsub.CHANNEL_CHAT_MESSAGE,
                    condition={
                        "broadcaster_user_id": link.broadcaster_id,
                        "user_id": bot.platform_user_id,
                    },
                    channel_id=link.channel_id,
                    account_id=bot.id,
                    purpose=TokenPurpose.bot,
                    owner_id=bot.platform_user_id,
                )
            )
    return wanted


def _broadcasters(link: PlatformLink, types: Iterable[str]) -> list[Wanted]:
    """Subscriptions on the broadcaster's own events, made with their grant."""
    return [
        Wanted(
            type=subscription_type,
            condition={"broadcaster_user_id": link.broadcaster_id},
            channel_id=link.channel_id,
            account_id=link.account_id,
            purpose=TokenPurpose.broadcaster,
            owner_id=link.broadcaster_id,
        )
        for subscription_type in types
    ]


def callback_of(settings: Settings) -> str:
    return f"{settings.public_url}/webhooks/twitch"


class AppApi(Closing, Generic[OAuthT, ApiT]):
    """A platform's API and OAuth clients of one job or listener, and the app access token
    (cached in Redis, encrypted, until shortly before it expires)."""

    def __init__(
        self, clients: PlatformClients[OAuthT, ApiT], settings: Settings, redis: Redis
    ) -> None:
        self.clients = clients
        self.api, self.oauth = clients.api, clients.oauth
        self._redis = redis
        self._cipher = cipher(settings.token_cipher_keys)
        self._app_token: str | None = None
        self._key = f"{clients.platform.value}:app_token"

    async def app_token(self) -> str:
        """The app access token: this client's, else the one cached in Redis, else a new one."""
        if self._app_token is not None:
            return self._app_token
        stored = await self._redis.get(self._key)
        if stored:
            try:
                self._app_token = self._cipher.decrypt(str(stored))
                return self._app_token
            except UndecryptableSecret:
                pass  # the keys changed: get another one
        return await self.new_app_token()

    async def new_app_token(self) -> str:
        """A new app access token, cached until shortly before it expires (also the refresh
        the API client calls when the token is refused)."""
        fresh = await self.oauth.app_access_token()
        lifetime = fresh.expires_in - APP_TOKEN_MARGIN_SECONDS
        if lifetime > 0:
            await self._redis.set(self._key, self._cipher.encrypt(fresh.access_token), ex=lifetime)
        self._app_token = fresh.access_token
        return fresh.access_token

    async def aclose(self) -> None:
        await self.clients.aclose()


class TwitchApi(AppApi[TwitchOAuth, HelixClient]):
    """Twitch's Helix and OAuth clients, and the app access token."""

    def __init__(
        self,
        settings: Settings,
        redis: Redis,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        clients = twitch_clients(settings, sleep=sleep, clock=clock)
        if clients is None:
            raise TwitchNotConfigured()
        super().__init__(clients, settings, redis)
        self.helix = clients.api


class TwitchSubscriptionService:
    async def plan(
        self, session: AsyncSession, settings: Settings, channel_id: int | None = None
    ) -> Plan:
        """What should exist for one channel's Twitch links (or for all of them)."""
        links = await stream_repository.links(session, Platform.twitch, channel_id=channel_id)
        bot = await platform_token_service.bot(session, settings, Platform.twitch)
        wanted = desired(links, bot[0] if bot else None, settings.twitch_eventsub_transport)
        broadcasters = (
            None if channel_id is None else frozenset(link.broadcaster_id for link in links)
        )
        return Plan(wanted=wanted, broadcasters=broadcasters)

    async def reconcile_webhooks(
        self, api: TwitchApi, settings: Settings, plan: Plan
    ) -> ReconcileReport:
        """Make Twitch's webhook subscriptions (to this server's host) match the plan: dead
        ones (revoked, failing, retired versions) and orphans (no longer wanted, another
        callback path, a duplicate) deleted, missing ones created (a 409 means it exists).
        Subscriptions to other hosts are left alone (another deployment of the same app).
        Only Helix is called: the caller marks ``report.revoked`` broadcasters' grants lost.

        Raises ``RateLimited`` or ``TwitchUnavailable`` when Twitch cannot be worked with now;
        a subscription Twitch refuses (4xx) is logged and counted as failed."""
        report = ReconcileReport()
        callback = callback_of(settings)
        host = urlsplit(settings.public_url).netloc
        wanted = {item.key: item for item in plan.wanted}
        kept: set[Key] = set()
        for subscription in await self._listed(api, plan.broadcasters):
            transport = subscription.transport
            if transport.get("method") != "webhook":
                continue
            if urlsplit(str(transport.get("callback", ""))).netloc != host:
                continue
            key = key_of(subscription.type, subscription.version, subscription.condition.items())
            if subscription.status in GRANT_LOST and _users_of(subscription) == {
                subscription.condition.get("broadcaster_user_id")
            }:
                report.revoked.add(str(subscription.condition["broadcaster_user_id"]))
            dead = subscription.status in DEAD_STATUSES
            if dead or transport.get("callback") != callback or key not in wanted or key in kept:
                await self._delete(api, subscription, report)
                continue
            kept.add(key)
            report.existing += 1
        transport = webhook_transport(callback, settings.twitch_eventsub_secret.get_secret_value())
        for key, item in wanted.items():
            if key in kept or item.condition["broadcaster_user_id"] in report.revoked:
                continue
            try:
                created = await api.helix.create_subscription(
                    await api.app_token(),
                    subscription_type=item.type,
                    condition=item.condition,
                    transport=transport,
                    version=item.version,
                    refresh=api.new_app_token,
                )
            except TwitchRequestFailed as error:
                if error.status == 401:
                    raise
                log.warning(
                    "Twitch refused an EventSub subscription",
                    extra={"type": item.type, "channel_id": item.channel_id, "error": str(error)},
                )
                report.failed += 1
                continue
            if created.already_exists:
                report.existing += 1
            else:
                report.created += 1
        return report

    async def grant_lost(
        self, session: AsyncSession, broadcaster_id: str, reason: str
    ) -> list[int]:
        """Twitch says the broadcaster withdrew (or lost) the grant behind their subscriptions:
        their grant and links need a relink (their owner is told). The channels concerned."""
        links = await stream_repository.links(
            session, Platform.twitch, broadcaster_id=broadcaster_id
        )
        for account_id in sorted({link.account_id for link in links}):
            await platform_token_service.mark_needs_relink(
                session, account_id, TokenPurpose.broadcaster, reason
            )
        return sorted({link.channel_id for link in links})

    async def act_on_revocation(self, session: AsyncSession, subscription: Subscription) -> None:
        """A ``revocation``: a grant lost by the broadcaster marks their links
        ``needs_relink``; in every case their channels' subscriptions are reconciled (made
        again when still wanted, deleted when not)."""
        broadcaster_id = subscription.condition.get("broadcaster_user_id")
        if not isinstance(broadcaster_id, str) or not broadcaster_id:
            return
        if subscription.status in GRANT_LOST and _users_of(subscription) == {broadcaster_id}:
            channels = await self.grant_lost(
                session,
                broadcaster_id,
                f"Twitch revoked {subscription.type}: {subscription.status}",
            )
        else:
            # A chat subscription names the bot too: whose grant went is not known here. Its
            # reconcile makes it again, which Twitch refuses while the grant is missing, and the
            # token refresh finds a revoked grant out.
            links = await stream_repository.links(
                session, Platform.twitch, broadcaster_id=broadcaster_id
            )
            channels = sorted({link.channel_id for link in links})
        for channel_id in channels:
            enqueue_after_commit(session, RECONCILE_JOB, channel_id)

    async def nudge_listener(self, redis: Redis) -> None:
        """Have the WebSocket listener (whichever worker holds it) make its pass now."""
        await redis.rpush(LISTENER_NUDGE_KEY, "1")  # type: ignore[misc]
        await redis.expire(LISTENER_NUDGE_KEY, 60)

    async def _listed(
        self, api: TwitchApi, broadcasters: frozenset[str] | None
    ) -> list[Subscription]:
        token = await api.app_token()
        if broadcasters is None:
            return await api.helix.list_subscriptions(token, refresh=api.new_app_token)
        found: dict[str, Subscription] = {}
        for broadcaster_id in sorted(broadcasters):
            for subscription in await api.helix.list_subscriptions(
                await api.app_token(), user_id=broadcaster_id, refresh=api.new_app_token
            ):
                # user_id also finds a bot's subscriptions in other channels: not in scope.
                if subscription.condition.get("broadcaster_user_id") == broadcaster_id:
                    found[subscription.id] = subscription
        return list(found.values())

    async def _delete(
        self, api: TwitchApi, subscription: Subscription, report: ReconcileReport
    ) -> None:
        try:
            await api.helix.delete_subscription(
                await api.app_token(), subscription.id, refresh=api.new_app_token
            )
        except TwitchRequestFailed as error:
            if error.status == 401:
                raise
            log.warning(
                "Twitch refused to delete an EventSub subscription",
                extra={"subscription_id": subscription.id, "error": str(error)},
            )
            report.failed += 1
            return
        report.deleted += 1


def _users_of(subscription: Subscription) -> set[object]:
    """The users a subscription's condition names (broadcaster, bot...)."""
    return {
        value
        for name, value in subscription.condition.items()
        if name.endswith("user_id") and value not in ("", None)
    }


twitch_subscription_service = TwitchSubscriptionService()
