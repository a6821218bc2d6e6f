"""Overlay keys: a channel's staff make read-only keys for their OBS overlays (the key is shown
once; only its SHA-256 is kept), list them and revoke them. A socket that connects with a key
watches that channel only, and is dropped, on every web process, once the key is revoked.
Making and revoking keys is recorded in the channel's staff audit trail."""

import hashlib
import logging
import secrets
from collections.abc import Collection
from urllib.parse import quote, urlencode

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import revocation
from app.auth.tokens import Principal
from app.channel.permissions import channel_or_404, require_staff
from app.channel.service import channel_service
from app.kit.effects import call_after_commit
from app.kit.resources import Resources
from app.models.overlay import OverlayKey
from app.overlay import schemas
from app.overlay.errors import InvalidOverlayKey, OverlayKeyLimitReached, OverlayKeyNotFound
from app.overlay.repository import overlay_repository
from app.settings import Settings

log = logging.getLogger(__name__)

KEY_PREFIX = "ovk_"
#: Unrevoked keys a channel may have at once.
MAX_ACTIVE_KEYS = 20
#: Characters of the key (after ``ovk_``) kept to tell keys apart.
SHOWN_PREFIX_LENGTH = 8
#: Longer "keys" are refused before any hashing or query.
MAX_KEY_LENGTH = 128
#: A key's ``last_used_at`` is written at most this often (seconds).
USE_RECORD_INTERVAL_SECONDS = 60
#: How long the revoked flag covers sockets connecting while the revocation commits.
REVOKED_FLAG_SECONDS = 60


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def shown_prefix(key: str) -> str:
    return key.removeprefix(KEY_PREFIX)[:SHOWN_PREFIX_LENGTH]


def overlay_url(settings: Settings, channel_slug: str, key: str) -> str:
    """The channel's overlay page with the key, for an OBS browser source."""
    return f"{settings.public_url}/overlay/{quote(channel_slug)}?{urlencode({'key': key})}"


def key_view(key: OverlayKey) -> schemas.OverlayKey:
    return schemas.OverlayKey(
        id=key.id,
        channel_id=key.channel_id,
        label=key.label,
        key_prefix=key.key_prefix,
        created_at=key.created_at,
        created_by=key.created_by,
        revoked_at=key.revoked_at,
        last_used_at=key.last_used_at,
    )


class OverlayService:
    # -- keys over REST -------------------------------------------------------------------------

    async def create(
        self,
        session: AsyncSession,
        resources: Resources,
        actor: Principal,
        channel_id: int,
        data: schemas.OverlayKeyCreate,
    ) -> schemas.OverlayKeyCreated:
        """Make a key for the channel (its owner or moderators). The answer is the only place
        the key is ever shown."""
        channel = await channel_or_404(session, channel_id)
        await require_staff(session, channel, actor)
        await overlay_repository.lock_channel(session, channel.id)
        if await overlay_repository.count_active(session, channel.id) >= MAX_ACTIVE_KEYS:
            raise OverlayKeyLimitReached(MAX_ACTIVE_KEYS)
        key = new_key()
        row = OverlayKey(
            channel_id=channel.id,
            label=data.label.strip(),
            key_hash=hash_key(key),
            key_prefix=shown_prefix(key),
            created_by=actor.user_id,
        )
        await overlay_repository.add(session, row)
        await channel_service.record_audit(
            session,
            channel.id,
            actor.user_id,
            "overlay_key_created",
            {"overlay_key_id": row.id, "label": row.label, "key_prefix": row.key_prefix},
        )
        return schemas.OverlayKeyCreated(
            id=row.id,
            channel_id=row.channel_id,
            label=row.label,
            key=key,
            key_prefix=row.key_prefix,
            url=overlay_url(resources.settings, channel.slug, key),
            created_at=row.created_at,
        )

    async def list(
        self, session: AsyncSession, actor: Principal, channel_id: int
    ) -> schemas.OverlayKeyList:
        """The channel's keys, revoked ones too, newest first, without the keys themselves."""
        channel = await channel_or_404(session, channel_id)
        await require_staff(session, channel, actor)
        keys = await overlay_repository.of_channel(session, channel.id)
        return schemas.OverlayKeyList(overlay_keys=[key_view(key) for key in keys])

    async def revoke(
        self,
        session: AsyncSession,
        resources: Resources,
        actor: Principal,
        channel_id: int,
        key_id: int,
    ) -> None:
        """Revoke a key of the channel; revoking it again changes nothing. Once committed,
        overlays using it are refused at connect and dropped wherever they are connected."""
        channel = await channel_or_404(session, channel_id)
        await require_staff(session, channel, actor)
        revoked = await overlay_repository.revoke(session, channel.id, key_id)
        if revoked is None:
            if await overlay_repository.get(session, channel.id, key_id) is None:
                raise OverlayKeyNotFound()
            return  # revoked before
        await channel_service.record_audit(
            session,
            channel.id,
            actor.user_id,
            "overlay_key_revoked",
            {
                "overlay_key_id": revoked.id,
                "label": revoked.label,
                "key_prefix": revoked.key_prefix,
            },
        )
        redis = resources.redis
        ended = revocation.OverlayKeyEnded(revoked.id, channel.id)

        async def announce() -> None:
            # After the commit: until then the key still holds. Flagged first, so a socket that
            # connects while the notice is on its way is dropped too (see ``realtime.server``).
            await revocation.mark_overlay_key_revoked(redis, ended.key_id, REVOKED_FLAG_SECONDS)
            await revocation.announce(redis, ended)

        call_after_commit(session, announce)

    # -- keys on sockets --------------------------------------------------------------------------

    async def authenticate(self, session: AsyncSession, key: str) -> schemas.OverlayAccess:
        """What an overlay key lets a socket watch; unknown and revoked keys are refused alike.
        One indexed query, which also records when the key was last used."""
        if not key.startswith(KEY_PREFIX) or len(key) > MAX_KEY_LENGTH or not key.isascii():
            raise InvalidOverlayKey()
        found = await overlay_repository.use(session, hash_key(key), USE_RECORD_INTERVAL_SECONDS)
        if found is None:
            raise InvalidOverlayKey()
        key_id, channel_id = found
        return schemas.OverlayAccess(key_id=key_id, channel_id=channel_id)

    async def still_valid(self, session: AsyncSession, key_ids: Collection[int]) -> set[int]:
        """Which of these keys are still unrevoked (to recheck sockets after missed notices)."""
        return await overlay_repository.active_among(session, key_ids)

    async def seed(
        self, session: AsyncSession, channel_id: int, created_by: int, key: str, label: str
    ) -> bool:
        """Give the channel this key (a known one: the local demo's) unless it exists already;
        whether it was added."""
        added = await overlay_repository.add_if_absent(
            session,
            channel_id=channel_id,
            label=label,
            key_hash=hash_key(key),
            key_prefix=shown_prefix(key),
            created_by=created_by,
        )
        if added:
            log.info("overlay key seeded", extra={"channel_id": channel_id, "label": label})
        return added


overlay_service = OverlayService()
