"""Each stream platform's clients (OAuth on its identity host, its API) built from the settings,
in one place."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Generic, Self, TypeVar

from app.models.channel import Platform
from app.settings import Settings
from integrations.api import ApiClient
from integrations.kick.api import KickApi
from integrations.kick.oauth import KickOAuth
from integrations.oauth import OAuthClient
from integrations.twitch.helix import HelixClient
from integrations.twitch.oauth import TwitchOAuth
from integrations.youtube.api import YouTubeApi
from integrations.youtube.oauth import GoogleOAuth

OAuthT = TypeVar("OAuthT", bound=OAuthClient, covariant=True)
ApiT = TypeVar("ApiT", bound=ApiClient, covariant=True)

Sleep = Callable[[float], Awaitable[None]]


class Closing:
    """``async with`` closes it (``aclose``) on the way out."""

    async def aclose(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        await self.aclose()


@dataclass(frozen=True)
class PlatformClients(Closing, Generic[OAuthT, ApiT]):
    """A platform app's OAuth and API clients; ``async with`` closes both."""

    platform: Platform
    oauth: OAuthT
    api: ApiT

    async def aclose(self) -> None:
        await self.oauth.aclose()
        await self.api.aclose()


TwitchClients = PlatformClients[TwitchOAuth, HelixClient]
KickClients = PlatformClients[KickOAuth, KickApi]
YouTubeClients = PlatformClients[GoogleOAuth, YouTubeApi]
AnyClients = PlatformClients[OAuthClient, ApiClient]


def twitch_clients(
    settings: Settings,
    *,
    timeout_seconds: float = 10,
    max_retries: int = 2,
    sleep: Sleep = asyncio.sleep,
    clock: Callable[[], float] = time.time,
) -> TwitchClients | None:
    """Clients for the configured Twitch app (``twitch_client_id``, ``twitch_client_secret``,
    ``twitch_id_base``, ``twitch_api_base``); None when Twitch is not configured. Helix
    retries a failed read ``max_retries`` times (0 where a repeat must never happen), waiting
    with ``sleep`` by ``clock`` (tests pass their own)."""
    if not twitch_configured(settings):
        return None
    return PlatformClients(
        platform=Platform.twitch,
        oauth=TwitchOAuth(
            settings.twitch_client_id,
            settings.twitch_client_secret.get_secret_value(),
            base_url=settings.twitch_id_base,
            timeout_seconds=timeout_seconds,
        ),
        api=HelixClient(
            settings.twitch_client_id,
            base_url=settings.twitch_api_base,
            timeout_seconds=timeout_seconds,
            max_retries=max_retries,
            sleep=sleep,
            clock=clock,
        ),
    )


def kick_clients(
    settings: Settings,
    *,
    timeout_seconds: float = 10,
    max_retries: int = 2,
    sleep: Sleep = asyncio.sleep,
    clock: Callable[[], float] = time.time,
) -> KickClients | None:
    """Clients for the configured Kick app (``kick_client_id``, ``kick_client_secret``,
    ``kick_id_base``, ``kick_api_base``); None when Kick is not configured."""
    if not kick_configured(settings):
        return None
    return PlatformClients(
        platform=Platform.kick,
        oauth=KickOAuth(
            settings.kick_client_id,
            settings.kick_client_secret.get_secret_value(),
            base_url=settings.kick_id_base,
            timeout_seconds=timeout_seconds,
        ),
        api=KickApi(
            base_url=settings.kick_api_base,
            timeout_seconds=timeout_seconds,
            max_retries=max_retries,
            sleep=sleep,
            clock=clock,
        ),
    )


def youtube_clients(
    settings: Settings,
    *,
    timeout_seconds: float = 10,
    max_retries: int = 2,
    sleep: Sleep = asyncio.sleep,
    clock: Callable[[], float] = time.time,
) -> YouTubeClients | None:
    """Clients for the configured Google OAuth client and the YouTube Data API
    (``youtube_client_id``, ``youtube_client_secret``, ``google_oauth_base``,
    ``google_accounts_base``, ``youtube_api_base``); None when YouTube is not configured."""
    if not youtube_configured(settings):
        return None
    return PlatformClients(
        platform=Platform.youtube,
        oauth=GoogleOAuth(
            settings.youtube_client_id,
            settings.youtube_client_secret.get_secret_value(),
            base_url=settings.google_oauth_base,
            accounts_base_url=settings.google_accounts_base,
            timeout_seconds=timeout_seconds,
        ),
        api=YouTubeApi(
            base_url=settings.youtube_api_base,
            timeout_seconds=timeout_seconds,
            max_retries=max_retries,
            sleep=sleep,
            clock=clock,
        ),
    )


def clients_for(
    platform: Platform, settings: Settings, *, timeout_seconds: float = 10, max_retries: int = 2
) -> AnyClients | None:
    """The clients of ``platform``'s app; None when it is not configured (or not built)."""
    if platform is Platform.twitch:
        return twitch_clients(settings, timeout_seconds=timeout_seconds, max_retries=max_retries)
    if platform is Platform.kick:
        return kick_clients(settings, timeout_seconds=timeout_seconds, max_retries=max_retries)
    if platform is Platform.youtube:
        return youtube_clients(settings, timeout_seconds=timeout_seconds, max_retries=max_retries)
    return None


def twitch_configured(settings: Settings) -> bool:
    """Whether the platform can call Twitch: a client id and its secret."""
    return settings.twitch_enabled and bool(settings.twitch_client_secret.get_secret_value())


def kick_configured(settings: Settings) -> bool:
    """Whether the platform can call Kick: a client id and its secret."""
    return settings.kick_enabled and bool(settings.kick_client_secret.get_secret_value())


def youtube_configured(settings: Settings) -> bool:
    """Whether the platform can call YouTube: a Google OAuth client id and its secret."""
    return settings.youtube_enabled and bool(settings.youtube_client_secret.get_secret_value())
