"""Kick's side of the stream pipeline: the public key its webhooks are verified with, the event
subscriptions the verified links call for (reconciled against Kick's list, which is the source
of truth: nothing is stored here), and the live state of linked channels.

The key: the one configured (``kick_public_key``, from Kick's documentation) and the one Kick's
API serves, cached in Redis. A delivery that none of them verifies makes us fetch the key again
(a rotation), at most once per ``kick_public_key_refetch_seconds`` across processes, so forged
requests cannot make us hammer Kick; then it is refused."""

import logging
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.kit.platforms import kick_clients
from app.settings import Settings
from integrations.errors import ApiError
from integrations.kick import webhooks

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
