"""The Twitch clients (OAuth on id.twitch.tv, Helix) built from the settings, in one place."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from app.settings import Settings
from integrations.twitch.helix import HelixClient
from integrations.twitch.oauth import TwitchOAuth


@dataclass(frozen=True, slots=True)
class TwitchClients:
    """The app's OAuth and Helix clients; ``async with`` closes both."""

    oauth: TwitchOAuth
    helix: HelixClient

    async def aclose(self) -> None:
        await self.oauth.aclose()
        await self.helix.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def twitch_clients(
    settings: Settings,
    *,
    timeout_seconds: float = 10,
    max_retries: int = 2,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Callable[[], float] = time.time,
) -> TwitchClients | None:
    """Clients for the configured Twitch app (``twitch_client_id``, ``twitch_client_secret``,
    ``twitch_id_base``, ``twitch_api_base``); None when Twitch is not configured. Helix
    retries a failed read ``max_retries`` times (0 where a repeat must never happen), waiting
    with ``sleep`` by ``clock`` (tests pass their own)."""
    if not twitch_configured(settings):
        return None
    return TwitchClients(
        oauth=TwitchOAuth(
            settings.twitch_client_id,
            settings.twitch_client_secret.get_secret_value(),
            base_url=settings.twitch_id_base,
            timeout_seconds=timeout_seconds,
        ),
        helix=HelixClient(
            settings.twitch_client_id,
            base_url=settings.twitch_api_base,
            timeout_seconds=timeout_seconds,
            max_retries=max_retries,
            sleep=sleep,
            clock=clock,
        ),
    )


def twitch_configured(settings: Settings) -> bool:
    """Whether the platform can call Twitch: a client id and its secret."""
    return settings.twitch_enabled and bool(settings.twitch_client_secret.get_secret_value())
