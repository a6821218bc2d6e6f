"""Sign in with a stream platform (Twitch, Kick: OAuth authorization code with ``state`` and
PKCE S256): starting a sign-in for one purpose, finishing it when the platform sends the browser
back, and the refresher the token refresh job hands to ``platform_token_service``.

Each platform is a ``Provider`` (its clients, the scopes each purpose asks for, how the user
who signed in is learnt); the flow is the same for all. A started sign-in is kept in Redis under
its platform and ``state`` for ten minutes and taken once (GETDEL). It is bound to the browser
that started it by a cookie: a callback link carried to another browser (to make a victim link
their platform account to someone else's account, or sign in to someone else's) is refused."""

import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final
from urllib.parse import urlencode, urlsplit, urlunsplit

import msgspec
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.tokens import Principal
from app.channel.errors import NotChannelOwner
from app.channel.permissions import channel_or_404
from app.channel.service import channel_service
from app.kit import ratelimit
from app.kit.effects import enqueue_after_commit
from app.kit.errors import AppError, InvalidInput, NotAuthenticated
from app.kit.platforms import (
    AnyClients,
    clients_for,
    kick_clients,
    kick_configured,
    twitch_clients,
    twitch_configured,
    youtube_clients,
    youtube_configured,
)
from app.kit.resources import Resources
from app.models.channel import Platform
from app.models.platform import TokenPurpose
from app.platform.errors import (
    BotNeedsAdmin,
    OAuthCodeRefused,
    OAuthDenied,
    OAuthRedirect,
    OAuthStateInvalid,
    PlatformUnavailable,
    TokenRevoked,
    YouTubeChannelMissing,
)
from app.platform.schemas import (
    IdentityInfo,
    OAuthPurpose,
    PlatformApp,
    PlatformAppList,
    PlatformIdentity,
    SignInAuthorization,
    SignInResult,
    SignInStart,
    TokenSet,
)
from app.platform.service import platform_identity_service
from app.platform.tokens import REFRESH_BATCH, Refresher, platform_token_service
from app.settings import Settings
from app.stream.errors import KickNotConfigured, TwitchNotConfigured, YouTubeNotConfigured
from integrations import errors as platform_errors
from integrations.kick.api import KickApi
from integrations.oauth import TokenSet as IssuedTokens
from integrations.twitch.helix import HelixClient
from integrations.youtube.api import YouTubeApi
from integrations.youtube.oauth import YOUTUBE_FORCE_SSL

log = logging.getLogger(__name__)

STATE_TTL_SECONDS: Final = 600
#: The jobs (app.stream) that create a linked channel's event subscriptions, by platform.
RECONCILE_SUBSCRIPTIONS_JOBS: Final = {
    Platform.twitch: "twitch.subscriptions.reconcile",
    Platform.kick: "kick.subscriptions.reconcile",
    Platform.youtube: "youtube.live.check",
}


def callback_path(platform: Platform) -> str:
    """Where the platform sends the browser back (the redirect URI registered with its app)."""
    return f"/api/v1/auth/{platform.value}/callback"


def cookie_path(platform: Platform) -> str:
    return f"/api/v1/auth/{platform.value}"


def binding_cookie(platform: Platform) -> str:
    return f"{platform.value}_oauth"


@dataclass(frozen=True, slots=True)
class Provider:
    """What a platform's sign-in needs besides the shared flow."""

    platform: Platform
    #: The platform's name, as users read it.
    name: str
    #: What each purpose asks the platform for.
    scopes: Mapping[OAuthPurpose, tuple[str, ...]]
    #: The purposes for which the platform shows its consent page again (where it can).
    force_verify: frozenset[OAuthPurpose]
    #: The platform's app clients, None when it is not configured.
    clients: Callable[[Settings], AnyClients | None]
    not_configured: Callable[[], AppError]
    #: Who the user token belongs to.
    identify: Callable[[AnyClients, str], Awaitable[IdentityInfo]]


async def _twitch_user(clients: AnyClients, access_token: str) -> IdentityInfo:
    assert isinstance(clients.api, HelixClient)
    user = await clients.api.get_user(access_token)
    return IdentityInfo(
        platform=Platform.twitch,
        platform_user_id=user.id,
        login=user.login,
        display_name=user.display_name,
    )


async def _kick_user(clients: AnyClients, access_token: str) -> IdentityInfo:
    assert isinstance(clients.api, KickApi)
    user = await clients.api.get_user(access_token)
    # Kick's username keeps its capitals; its lowercase is the channel's slug.
    return IdentityInfo(
        platform=Platform.kick,
        platform_user_id=user.user_id,
        login=user.name.lower(),
        display_name=user.name,
    )


async def _youtube_user(clients: AnyClients, access_token: str) -> IdentityInfo:
    """The YouTube channel of the Google account that signed in (``channels.list?mine=true``):
    the identity is the channel, as chat names its authors by channel id, and only its owner's
    token lists it as theirs."""
    assert isinstance(clients.api, YouTubeApi)
    channel = await clients.api.my_channel(access_token)
    if channel is None:
        raise YouTubeChannelMissing()
    handle = (channel.custom_url or channel.id).lstrip("@")
    return IdentityInfo(
        platform=Platform.youtube,
        platform_user_id=channel.id,
        login=handle.lower()[:64],
        display_name=channel.title or handle,
    )


def _youtube_not_configured() -> AppError:
    return YouTubeNotConfigured(
        "Sign-in with Google is not configured on this server"
        " (STREAMPOOLS_YOUTUBE_CLIENT_ID, STREAMPOOLS_YOUTUBE_CLIENT_SECRET)."
    )


def _twitch_not_configured() -> AppError:
    return TwitchNotConfigured(
        "Twitch sign-in is not configured on this server"
        " (STREAMPOOLS_TWITCH_CLIENT_ID, STREAMPOOLS_TWITCH_CLIENT_SECRET)."
    )


def _kick_not_configured() -> AppError:
    return KickNotConfigured(
        "Kick sign-in is not configured on this server"
        " (STREAMPOOLS_KICK_CLIENT_ID, STREAMPOOLS_KICK_CLIENT_SECRET)."
    )


PROVIDERS: Final[dict[Platform, Provider]] = {
    # Identifying someone needs no scope at all (Helix ``/users`` answers for any user token).
    # The broadcaster's grant: ``channel:bot`` lets the chat bot read and write their chat
    # through webhooks; ``channel:manage:predictions`` mirrors and runs Twitch predictions (it
    # includes reading them, for EventSub ``channel.prediction.*``). stream.online/offline
    # need no scope. The bot: reading and sending chat as a bot. Twitch shows its consent page
    # (and the account picker) again for the broadcaster and the bot, so the right account
    # grants: the broadcaster's own, the bot's (not the admin's usual one).
    Platform.twitch: Provider(
        platform=Platform.twitch,
        name="Twitch",
        scopes={
            OAuthPurpose.sign_in: (),
            OAuthPurpose.link_account: (),
            OAuthPurpose.link_channel: ("channel:bot", "channel:manage:predictions"),
            OAuthPurpose.bot: ("user:read:chat", "user:write:chat", "user:bot"),
        },
        force_verify=frozenset({OAuthPurpose.link_channel, OAuthPurpose.bot}),
        clients=lambda settings: twitch_clients(settings),
        not_configured=_twitch_not_configured,
        identify=_twitch_user,
    ),
    # Kick's ``/users`` wants ``user:read`` for anyone. The broadcaster's grant:
    # ``channel:read`` (their channel) and ``events:subscribe`` (their stream and chat events,
    # for the app's webhook). The bot: writing chat as itself.
    Platform.kick: Provider(
        platform=Platform.kick,
        name="Kick",
        scopes={
            OAuthPurpose.sign_in: ("user:read",),
            OAuthPurpose.link_account: ("user:read",),
            OAuthPurpose.link_channel: ("user:read", "channel:read", "events:subscribe"),
            OAuthPurpose.bot: ("user:read", "chat:write"),
        },
        force_verify=frozenset(),
        clients=lambda settings: kick_clients(settings),
        not_configured=_kick_not_configured,
        identify=_kick_user,
    ),
    # Google: ``youtube.force-ssl`` for every purpose (reading the account's channel proves who
    # owns it; the broadcaster's grant reads their broadcasts and chat; the bot writes chat).
    # Google's consent page is shown every time (``prompt=consent``) to get a refresh token.
    Platform.youtube: Provider(
        platform=Platform.youtube,
        name="YouTube",
        scopes={purpose: (YOUTUBE_FORCE_SSL,) for purpose in OAuthPurpose},
        force_verify=frozenset(OAuthPurpose),
        clients=lambda settings: youtube_clients(settings),
        not_configured=_youtube_not_configured,
        identify=_youtube_user,
    ),
}
#: Platforms whose sign-in is built.
SIGN_IN_PLATFORMS: Final = frozenset(PROVIDERS)
#: Whether the server has each platform's app (without building its clients).
CONFIGURED: Final[dict[Platform, Callable[[Settings], bool]]] = {
    Platform.twitch: twitch_configured,
    Platform.kick: kick_configured,
    Platform.youtube: youtube_configured,
}

#: Sign-ins one client address may start per ten minutes.
STARTS_PER_ADDRESS: Final = 60
#: Longest ``state`` looked up (ours are 43 characters).
MAX_STATE_LENGTH: Final = 128


class PendingSignIn(msgspec.Struct, frozen=True, kw_only=True):
    """A started sign-in, kept server side under its ``state`` until the platform sends it
    back."""

    purpose: OAuthPurpose
    user_id: int | None
    channel_id: int | None
    code_verifier: str
    return_to: str | None
    #: SHA-256 of the browser's binding cookie.
    browser: str
    created_at: float


@dataclass(frozen=True, slots=True)
class Started:
    authorization: SignInAuthorization
    #: The value of the binding cookie to set (the browser's own when it had one).
    binding: str


@dataclass(frozen=True, slots=True)
class Finished:
    result: SignInResult
    #: Where the browser goes next (the fragment says what happened); None: answer JSON.
    redirect_to: str | None


def redirect_uri(settings: Settings, platform: Platform) -> str:
    """The OAuth redirect URI to register with the platform's app."""
    return f"{settings.public_url}{callback_path(platform)}"


class PlatformSignInService:
    def apps(self, settings: Settings) -> PlatformAppList:
        """Each platform and whether its app is configured here (its sign-in and links
        work)."""
        return PlatformAppList(
            platforms=[
                PlatformApp(
                    platform=platform,
                    name=provider.name,
                    configured=CONFIGURED[platform](settings),
                )
                for platform, provider in PROVIDERS.items()
            ]
        )

    async def start(
        self,
        session: AsyncSession,
        resources: Resources,
        platform: Platform,
        principal: Principal | None,
        data: SignInStart,
        binding: str | None,
        client_address: str,
    ) -> Started:
        """Check the caller may start this sign-in, remember it under a fresh ``state`` and
        answer the platform's authorization URL. Linking needs a signed-in caller; a channel,
        its owner; the bot, a platform admin. Limited per client address: each start is kept
        in Redis for ten minutes."""
        settings = resources.settings
        provider = PROVIDERS[platform]
        clients = _clients(provider, settings)
        await clients.aclose()  # the URL below is built without a request
        await ratelimit.hit(
            resources.redis,
            f"oauth:{platform.value}:start:{client_address}",
            STARTS_PER_ADDRESS,
            STATE_TTL_SECONDS,
        )
        if data.channel_id is not None and data.purpose is not OAuthPurpose.link_channel:
            raise InvalidInput("channel_id", "is only for link_channel")
        return_to = None if data.return_to is None else same_origin(settings, data.return_to)
        if data.purpose is not OAuthPurpose.sign_in and principal is None:
            raise NotAuthenticated()
        if data.purpose is OAuthPurpose.link_channel:
            assert principal is not None
            if data.channel_id is None:
                raise InvalidInput("channel_id", "is required to link a channel")
            channel = await channel_or_404(session, data.channel_id)
            # Not even an admin: the platform account linked must be the owner's own.
            if channel.owner_id != principal.user_id:
                raise NotChannelOwner()
        if data.purpose is OAuthPurpose.bot and not (principal and principal.is_admin):
            raise BotNeedsAdmin()
        if binding is None or not 20 <= len(binding) <= 100:
            binding = secrets.token_urlsafe(32)
        scopes = provider.scopes[data.purpose]
        request = clients.oauth.authorize_url(
            redirect_uri=redirect_uri(settings, platform),
            scopes=scopes,
            force_verify=data.purpose in provider.force_verify,
        )
        pending = PendingSignIn(
            purpose=data.purpose,
            user_id=None if principal is None else principal.user_id,
            channel_id=data.channel_id,
            code_verifier=request.code_verifier,
            return_to=return_to,
            browser=_digest(binding),
            created_at=time.time(),
        )
        await resources.redis.set(
            _state_key(platform, request.state),
            msgspec.json.encode(pending),
            ex=STATE_TTL_SECONDS,
        )
        return Started(
            SignInAuthorization(
                authorize_url=request.url,
                state=request.state,
                scopes=list(scopes),
                expires_in=STATE_TTL_SECONDS,
            ),
            binding,
        )

    async def finish(
        self,
        session: AsyncSession,
        resources: Resources,
        platform: Platform,
        *,
        state: str | None,
        code: str | None,
        error: str | None,
        error_description: str | None,
        binding: str | None,
    ) -> Finished:
        """The platform sent the browser back: take the started sign-in (once), exchange the
        code with its PKCE verifier, learn who signed in (the platform's API), then do what it
        was started for. Once the sign-in is known, its failures go back to its ``return_to``
        (if any) with the error in the URL fragment (``OAuthRedirect``)."""
        settings = resources.settings
        provider = PROVIDERS[platform]
        clients = _clients(provider, settings)
        async with clients:
            pending = await _take(resources.redis, platform, state, binding)
            try:
                result = await self._complete(
                    session, settings, provider, clients, pending, code, error, error_description
                )
            except AppError as failure:
                if pending.return_to is None:
                    raise
                fragment = {
                    "error": failure.code,
                    "error_description": failure.detail,
                    "purpose": pending.purpose.value,
                }
                raise OAuthRedirect(_with_fragment(pending.return_to, fragment), failure) from None
        if pending.return_to is None:
            return Finished(result, None)
        return Finished(result, _with_fragment(pending.return_to, _success_fragment(result)))

    async def refresh_due_tokens(
        self,
        session: AsyncSession,
        settings: Settings,
        *,
        limit: int = REFRESH_BATCH,
        tried: set[int] | None = None,
    ) -> int | None:
        """Refresh the tokens about to expire of every configured platform
        (``platform_token_service``); None when no platform is configured. Returns how many
        were refreshed."""
        configured = [
            clients
            for provider in PROVIDERS.values()
            if (
                clients := clients_for(
                    provider.platform, settings, timeout_seconds=REFRESH_TIMEOUT_SECONDS
                )
            )
            is not None
        ]
        if not configured:
            return None
        try:
            report = await platform_token_service.refresh_due_tokens(
                session,
                settings,
                oauth_refresher(*configured),
                platforms=[clients.platform for clients in configured],
                limit=limit,
                tried=tried,
            )
        finally:
            for clients in configured:
                await clients.aclose()
        if report.needs_relink or report.failed:
            log.warning(
                "platform tokens not refreshed",
                extra={"needs_relink": report.needs_relink, "failed": report.failed},
            )
        return report.refreshed

    async def _complete(
        self,
        session: AsyncSession,
        settings: Settings,
        provider: Provider,
        clients: AnyClients,
        pending: PendingSignIn,
        code: str | None,
        error: str | None,
        error_description: str | None,
    ) -> SignInResult:
        name = provider.name
        if error is not None:
            if error == "access_denied":
                raise OAuthDenied(f"{name} did not grant access (you cancelled, or declined).")
            raise OAuthDenied(f"{name} refused the sign-in: {(error_description or error)[:200]}")
        if not code:
            raise OAuthCodeRefused()
        tokens, info = await _identify(provider, clients, settings, pending, code)
        missing = set(provider.scopes[pending.purpose]) - set(tokens.scopes)
        if missing:
            raise OAuthDenied(f"{name} did not grant {', '.join(sorted(missing))}.")
        identity = PlatformIdentity(
            platform=info.platform,
            platform_user_id=info.platform_user_id,
            login=info.login,
            display_name=info.display_name,
        )
        result = SignInResult(purpose=pending.purpose, identity=identity)
        if pending.purpose is OAuthPurpose.sign_in:
            user = await platform_identity_service.sign_in_with_platform(session, info)
            auth = await platform_identity_service.start_session(session, settings, user)
            return msgspec.structs.replace(result, session=auth)
        if pending.purpose is OAuthPurpose.bot:
            # The bot's own account, never the admin's: whoever signs in to the platform as the bot
            # gets an ordinary account, not the admin's privileges.
            bot_user = await platform_identity_service.sign_in_with_platform(session, info)
            account = await platform_identity_service.link_platform_to_user(
                session, settings, bot_user.id, info
            )
            await platform_token_service.store(
                session, settings, account, TokenPurpose.bot, stored_tokens(tokens)
            )
            return result
        assert pending.user_id is not None
        account = await platform_identity_service.link_platform_to_user(
            session, settings, pending.user_id, info
        )
        if pending.purpose is OAuthPurpose.link_account:
            return result
        assert pending.channel_id is not None
        channel = await channel_or_404(session, pending.channel_id)
        link = await channel_service.link_verified(session, channel, account)
        await platform_token_service.store(
            session, settings, account, TokenPurpose.broadcaster, stored_tokens(tokens)
        )
        enqueue_after_commit(session, RECONCILE_SUBSCRIPTIONS_JOBS[provider.platform], channel.id)
        return msgspec.structs.replace(result, link=link)


#: The refresh job's client timeout: a batch of tokens is refreshed inside one job.
REFRESH_TIMEOUT_SECONDS: Final = 5.0


def oauth_refresher(*clients: AnyClients) -> Refresher:
    """``Refresher`` over the platforms' token endpoints: a refused refresh token is
    ``TokenRevoked`` (the link needs its owner again); the platform unreachable or failing is
    any other error, which the token service takes as passing (tried again next run while the
    token lasts). The new refresh token (Kick hands out a new one every time) is stored with
    the new access token, in one row."""
    by_platform = {client.platform: client.oauth for client in clients}

    async def refresh(platform: Platform, refresh_token: str) -> TokenSet:
        oauth = by_platform.get(platform)
        if oauth is None:
            raise LookupError(f"no token refresher for {platform.value}")
        try:
            fresh = await oauth.refresh(refresh_token)
        except platform_errors.TokenRevoked as error:
            raise TokenRevoked(str(error)) from error
        return stored_tokens(fresh)

    return refresh


def stored_tokens(tokens: IssuedTokens) -> TokenSet:
    """The platform's answer as the token service keeps it (an expiry time, not a duration)."""
    return TokenSet(
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_at=datetime.now(UTC) + timedelta(seconds=tokens.expires_in),
        scopes=tokens.scopes,
    )


def same_origin(settings: Settings, return_to: str) -> str:
    """``return_to`` as an absolute URL of this server's origin (``public_url``), without a
    fragment; any other origin is refused (no open redirect)."""
    origin = urlsplit(settings.public_url)
    if "\\" in return_to or not return_to.isprintable() or " " in return_to:
        raise InvalidInput("return_to", "must be a path or a URL of this site")
    parts = urlsplit(return_to)
    if not parts.scheme and not parts.netloc:
        if not return_to.startswith("/") or return_to.startswith("//"):
            raise InvalidInput("return_to", "must be a path or a URL of this site")
        parts = parts._replace(scheme=origin.scheme, netloc=origin.netloc)
    elif (parts.scheme.lower(), parts.netloc.lower()) != (origin.scheme, origin.netloc.lower()):
        raise InvalidInput("return_to", "must be a path or a URL of this site")
    return urlunsplit(parts._replace(fragment=""))


def _clients(provider: Provider, settings: Settings) -> AnyClients:
    clients = provider.clients(settings)
    if clients is None:
        raise provider.not_configured()
    return clients


async def _take(
    redis: Redis, platform: Platform, state: str | None, binding: str | None
) -> PendingSignIn:
    """The started sign-in of ``state``, removed (so used once), if this browser started it."""
    if not state or len(state) > MAX_STATE_LENGTH:
        raise OAuthStateInvalid()
    raw = await redis.getdel(_state_key(platform, state))
    if raw is None:
        raise OAuthStateInvalid()
    pending = msgspec.json.decode(raw, type=PendingSignIn)
    if binding is None or not hmac.compare_digest(pending.browser, _digest(binding)):
        raise OAuthStateInvalid()
    return pending


async def _identify(
    provider: Provider,
    clients: AnyClients,
    settings: Settings,
    pending: PendingSignIn,
    code: str,
) -> tuple[IssuedTokens, IdentityInfo]:
    """The tokens for ``code`` and the platform user they belong to."""
    try:
        tokens = await clients.oauth.exchange_code(
            code,
            redirect_uri=redirect_uri(settings, provider.platform),
            code_verifier=pending.code_verifier,
        )
        info = await provider.identify(clients, tokens.access_token)
    except platform_errors.RequestFailed as error:
        if error.status == 400:
            raise OAuthCodeRefused() from error
        log.error(
            "%s refused our sign-in request: %s (%s)", provider.name, error.message, error.status
        )
        raise PlatformUnavailable(
            f"{provider.name} did not answer; try again in a moment."
        ) from error
    except platform_errors.ApiError as error:
        raise PlatformUnavailable(
            f"{provider.name} did not answer; try again in a moment."
        ) from error
    return tokens, info


def _success_fragment(result: SignInResult) -> dict[str, str]:
    fragment = {"purpose": result.purpose.value, "login": result.identity.login}
    if result.session is not None:
        fragment |= {
            "access_token": result.session.access_token,
            "refresh_token": result.session.refresh_token,
            "expires_in": str(result.session.expires_in),
            "token_type": result.session.token_type,
        }
    if result.link is not None:
        fragment["link_id"] = str(result.link.id)
    return fragment


def _with_fragment(url: str, fragment: dict[str, str]) -> str:
    return f"{url}#{urlencode(fragment)}"


def _state_key(platform: Platform, state: str) -> str:
    return f"oauth:{platform.value}:state:{state}"


def _digest(binding: str) -> str:
    return hashlib.sha256(binding.encode()).hexdigest()


platform_sign_in_service = PlatformSignInService()
