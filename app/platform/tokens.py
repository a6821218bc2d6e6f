"""Platform tokens: stored encrypted (app.kit.cipher), read back for API calls, refreshed before
they expire by one process at a time, and a token that cannot be refreshed marks its links
``needs_relink`` and tells its owner, rather than failing silently."""

import logging
from collections.abc import Collection
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from app.channel.service import channel_service
from app.kit.cipher import Cipher, cipher
from app.models.channel import LinkStatus, Platform
from app.models.notification import NotificationKind
from app.models.platform import PlatformAccount, PlatformToken, TokenPurpose, TokenStatus
from app.notification.service import notification_service
from app.platform.errors import TokenRevoked, UnknownPlatformAccount
from app.platform.repository import DueToken, platform_repository
from app.platform.schemas import RefreshReport, TokenSet
from app.settings import Settings

log = logging.getLogger(__name__)

#: Tokens refreshed per run: each holds its row locked while its platform answers.
REFRESH_BATCH = 50


class Refresher(Protocol):
    """Exchanges a refresh token for new tokens at the platform (an ``integrations/`` client).
    Raises ``TokenRevoked`` when the platform refuses it for good; any other exception is taken
    as a passing failure."""

    async def __call__(self, platform: Platform, refresh_token: str) -> TokenSet: ...


async def _store_refreshed(
    session: AsyncSession, box: Cipher, token: PlatformToken, fresh: TokenSet
) -> None:
    """A refresh's new tokens, encrypted, over the version that was refreshed."""
    await platform_repository.store_refreshed(
        session,
        token.id,
        token.version,
        access_token=box.encrypt(fresh.access_token),
        refresh_token=box.encrypt(fresh.refresh_token),
        scopes=list(fresh.scopes) or list(token.scopes),
        expires_at=fresh.expires_at,
    )


def _cipher(settings: Settings) -> Cipher:
    return cipher(settings.token_cipher_keys)


class PlatformTokenService:
    async def store(
        self,
        session: AsyncSession,
        settings: Settings,
        account: PlatformAccount,
        purpose: TokenPurpose,
        tokens: TokenSet,
    ) -> None:
        """Keep the tokens an OAuth sign-in granted (encrypted), replacing older ones; links
        that needed a relink are verified again."""
        box = _cipher(settings)
        await platform_repository.store_tokens(
            session,
            account_id=account.id,
            purpose=purpose,
            access_token=box.encrypt(tokens.access_token),
            refresh_token=box.encrypt(tokens.refresh_token),
            scopes=list(tokens.scopes),
            expires_at=tokens.expires_at,
        )
        if purpose is TokenPurpose.broadcaster:
            await channel_service.set_account_links_status(session, account.id, LinkStatus.verified)

    async def access_token(
        self, session: AsyncSession, settings: Settings, account_id: int, purpose: TokenPurpose
    ) -> str | None:
        """The account's current access token in clear, None when it needs a relink."""
        token = await platform_repository.token(session, account_id, purpose)
        if token is None:
            raise UnknownPlatformAccount()
        if token.status is not TokenStatus.active:
            return None
        return _cipher(settings).decrypt(token.access_token)

    async def bot(
        self, session: AsyncSession, settings: Settings, platform: Platform
    ) -> tuple[PlatformAccount, str] | None:
        """The platform's chat bot account (linked by an admin through OAuth) and its current
        access token; None when no bot is linked or its grant needs a relink."""
        account = await platform_repository.bot_account(session, platform)
        if account is None:
            return None
        token = await self.access_token(session, settings, account.id, TokenPurpose.bot)
        return None if token is None else (account, token)

    async def mark_needs_relink(
        self, session: AsyncSession, account_id: int, purpose: TokenPurpose, reason: str
    ) -> bool:
        """The platform refused the account's grant for good (a revoked authorization seen
        outside a refresh): mark it ``needs_relink``, its links too, and tell its owner, as a
        failed refresh does. False when it was not active (already marked, or never stored)."""
        token = await platform_repository.token(session, account_id, purpose)
        account = await platform_repository.account_by_id(session, account_id)
        if token is None or account is None or token.status is not TokenStatus.active:
            return False
        due = DueToken(token, account.platform, account.login, account.user_id)
        await self._needs_relink(session, due, reason)
        return True

    async def refresh_refused(
        self,
        session: AsyncSession,
        settings: Settings,
        account_id: int,
        purpose: TokenPurpose,
        refused: str,
        refresher: Refresher,
    ) -> str | None:
        """An access token the platform refused before its time (a 401): refresh it now,
        under its row lock, unless another process already has (its access token is no longer
        ``refused``): then the current one. None when the grant needs a relink (the refresh
        was refused too: marked, and its owner told)."""
        stored = await platform_repository.token(session, account_id, purpose)
        account = await platform_repository.account_by_id(session, account_id)
        token = None if stored is None else await platform_repository.lock_token(session, stored.id)
        if token is None or account is None or token.status is not TokenStatus.active:
            return None
        box = _cipher(settings)
        current = box.decrypt(token.access_token)
        if current != refused:
            return current
        try:
            fresh = await refresher(account.platform, box.decrypt(token.refresh_token))
        except TokenRevoked:
            item = DueToken(token, account.platform, account.login, account.user_id)
            await self._needs_relink(session, item, "the platform revoked the refresh token")
            return None
        await _store_refreshed(session, box, token, fresh)
        return fresh.access_token

    async def refresh_due_tokens(
        self,
        session: AsyncSession,
        settings: Settings,
        refresher: Refresher,
        *,
        platforms: Collection[Platform] = tuple(Platform),
        limit: int = REFRESH_BATCH,
        tried: set[int] | None = None,
    ) -> RefreshReport:
        """Refresh the active tokens expiring within ``platform_token_refresh_lead_seconds``.
        Each is locked (``FOR UPDATE SKIP LOCKED``) for the unit of work, so concurrent runs
        on several workers share the tokens and never refresh one twice; the new tokens are
        stored only over the version that was refreshed. A revoked token (or one that failed
        after it expired) is marked ``needs_relink``, its links too, and its owner notified.
        ``tried`` (ids) leaves out the tokens an earlier call of the same run took, and gets the
        ones this call takes. Only tokens of ``platforms`` (those ``refresher`` serves) are
        taken."""
        due = await platform_repository.claim_due(
            session, settings.platform_token_refresh_lead_seconds, limit, platforms, tried or ()
        )
        if tried is not None:
            tried.update(item.token.id for item in due)
        now = await platform_repository.now(session)
        box = _cipher(settings)
        refreshed = relink = failed = 0
        for item in due:
            token = item.token
            try:
                fresh = await refresher(item.platform, box.decrypt(token.refresh_token))
            except TokenRevoked:
                await self._needs_relink(session, item, "the platform revoked the refresh token")
                relink += 1
                continue
            except Exception as error:
                log.warning("platform token %s failed to refresh: %r", token.id, error)
                if token.expires_at <= now:
                    await self._needs_relink(session, item, f"refresh failed: {error!r}")
                    relink += 1
                else:  # still valid: the next run tries again
                    await platform_repository.mark_failed(
                        session, token.id, token.version, repr(error), needs_relink=False
                    )
                    failed += 1
                continue
            await _store_refreshed(session, box, token, fresh)
            refreshed += 1
        return RefreshReport(refreshed=refreshed, needs_relink=relink, failed=failed)

    async def reencrypt_all(self, session: AsyncSession, settings: Settings) -> int:
        """Re-encrypt every stored token under the first key (after a new key was put first),
        so the old key can then be dropped. Returns how many tokens were rewritten."""
        box = _cipher(settings)
        count = 0
        for token_id in await platform_repository.all_token_ids(session):
            token = await platform_repository.lock_token(session, token_id)
            if token is None:
                continue
            token.access_token = box.reencrypt(token.access_token)
            token.refresh_token = box.reencrypt(token.refresh_token)
            count += 1
        await session.flush()
        return count

    async def _needs_relink(self, session: AsyncSession, item: DueToken, reason: str) -> None:
        token: PlatformToken = item.token
        if not await platform_repository.mark_failed(
            session, token.id, token.version, reason, needs_relink=True
        ):
            return
        if token.purpose is TokenPurpose.broadcaster:
            await channel_service.set_account_links_status(
                session, token.platform_account_id, LinkStatus.needs_relink
            )
        platform = item.platform.value.capitalize()
        await notification_service.notify(
            session,
            [item.user_id],
            kind=NotificationKind.platform_needs_relink,
            event_key=f"platform.needs_relink:{token.id}:{token.version}",
            title=f"Link {platform} again",
            body=f"{platform} stopped accepting the link of {item.login}"
            f" ({token.purpose.value}); link it again to keep it working.",
            link="/dashboard",
            data={
                "platform": item.platform.value,
                "login": item.login,
                "purpose": token.purpose.value,
            },
        )


platform_token_service = PlatformTokenService()
