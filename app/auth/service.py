"""Sign-up, sign-in, refresh-token rotation with reuse detection, sign-out, platform roles."""

import contextlib
import uuid
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import revocation, schemas
from app.auth.errors import (
    EmailTaken,
    InvalidAccessToken,
    InvalidCredentials,
    InvalidRefreshToken,
    PasswordChecksBusy,
    RefreshTokenReused,
    UnknownAccount,
    WeakPassword,
)
from app.auth.passwords import Passwords
from app.auth.repository import refresh_token_repository
from app.auth.tokens import (
    InvalidToken,
    Principal,
    decode_access_token,
    hash_refresh_token,
    issue_access_token,
    new_refresh_token,
)
from app.kit import ratelimit
from app.kit.effects import call_after_commit
from app.kit.resources import Resources
from app.models.user import RefreshToken, Role, User
from app.settings import Settings
from app.user.repository import user_repository
from app.user.schemas import UserProfile
from app.user.service import profile

COMMON_PASSWORDS = frozenset(
    {
        "1234567890",
        "12345678910",
        "1q2w3e4r5t",
        "password123",
        "password1234",
        "qwertyuiop",
        "iloveyou123",
        "0987654321",
        "1qaz2wsx3edc",
        "abcdefghij",
        "letmein123",
        "welcome123",
        "passwordpassword",
        "qwerty12345",
        "aaaaaaaaaa",
        "changeme123",
    }
)


@lru_cache(maxsize=4)
def _passwords(
    time_cost: int, memory_kib: int, parallelism: int, concurrency: int, queue_max: int
) -> Passwords:
    return Passwords(time_cost, memory_kib, parallelism, concurrency, queue_max)


def passwords(settings: Settings) -> Passwords:
    """The process's password hasher for these settings (one thread pool per process)."""
    return _passwords(
        settings.argon2_time_cost,
        settings.argon2_memory_kib,
        settings.argon2_parallelism,
        settings.password_hash_concurrency,
        settings.password_hash_queue_max,
    )


class AuthService:
    async def register(
        self,
        session: AsyncSession,
        resources: Resources,
        data: schemas.Register,
        client_address: str,
    ) -> schemas.AuthSession:
        """Create an account with a password and sign it in; rate limited per client address."""
        settings = resources.settings
        await ratelimit.hit(
            resources.redis,
            f"register:address:{client_address}",
            settings.register_max_per_address,
            settings.register_window_seconds,
        )
        _check_password_strength(data.password, data.email)
        # Hashed before the first query: waiting for a hashing thread holds no connection.
        password_hash = await passwords(settings).hash(data.password)
        if await user_repository.get_by_email(session, data.email) is not None:
            raise EmailTaken()
        try:
            async with session.begin_nested():
                user = await user_repository.create(
                    session,
                    email=data.email,
                    password_hash=password_hash,
                    display_name=data.display_name.strip(),
                )
        except IntegrityError as error:  # a concurrent registration won the race
            raise EmailTaken() from error
        return await self._start_session(session, resources.settings, user, uuid.uuid4())

    async def login(
        self,
        session: AsyncSession,
        resources: Resources,
        data: schemas.Login,
        client_address: str,
    ) -> schemas.AuthSession:
        """Check the credentials. Failed attempts are limited per account and per client
        address; a successful sign-in uses up neither (many people share one address)."""
        settings, redis = resources.settings, resources.redis
        account_key = f"login:account:{data.email.lower()}"
        hasher = passwords(settings)
        async with (
            ratelimit.failures(
                redis,
                f"login:address:{client_address}",
                settings.login_max_per_address,
                settings.login_window_seconds,
                counted=InvalidCredentials,
            ),
            ratelimit.failures(
                redis,
                account_key,
                settings.login_max_per_account,
                settings.login_window_seconds,
                counted=InvalidCredentials,
            ),
        ):
            user = await user_repository.get_by_email(session, data.email)
            if not await hasher.verify(user.password_hash if user else None, data.password):
                raise InvalidCredentials()
        assert user is not None and user.password_hash is not None
        await ratelimit.reset(redis, account_key)
        if hasher.needs_rehash(user.password_hash):
            # A busy hasher must not fail a sign-in that succeeded: upgrade at a later one.
            with contextlib.suppress(PasswordChecksBusy):
                user.password_hash = await hasher.hash(data.password)
        return await self._start_session(session, settings, user, uuid.uuid4())

    async def refresh(
        self, session: AsyncSession, resources: Resources, token: str
    ) -> schemas.AuthSession:
        """Rotate a refresh token. A token presented twice revokes its whole family."""
        stored = await refresh_token_repository.get_for_update(session, hash_refresh_token(token))
        now = datetime.now(UTC)
        if stored is None or stored.revoked_at is not None or stored.expires_at <= now:
            raise InvalidRefreshToken()
        if stored.rotated_at is not None:
            await self._revoke_family(session, resources, stored, RefreshTokenReused.code)
            raise RefreshTokenReused()
        stored.rotated_at = now
        user = await user_repository.get(session, stored.user_id)
        if user is None:
            raise InvalidRefreshToken()
        return await self._start_session(session, resources.settings, user, stored.family_id)

    async def logout(self, session: AsyncSession, resources: Resources, token: str) -> None:
        """Revoke the sign-in the token belongs to. Unknown tokens are ignored."""
        stored = await refresh_token_repository.get(session, hash_refresh_token(token))
        if stored is not None:
            await self._revoke_family(session, resources, stored, "logout")

    async def authenticate(self, resources: Resources, token: str) -> tuple[Principal, int]:
        """The principal behind an access token and the token's expiry (unix seconds)."""
        try:
            principal, expires_at = decode_access_token(resources.settings, token)
        except InvalidToken as error:
            raise InvalidAccessToken() from error
        if await revocation.why_refused(resources.redis, principal) is not None:
            raise InvalidAccessToken()
        return principal, expires_at

    async def change_role_by_email(
        self, session: AsyncSession, resources: Resources, email: str, role: Role
    ) -> UserProfile:
        """``change_role`` for the account signed up with ``email`` (the operator's command)."""
        user = await user_repository.get_by_email(session, email)
        if user is None:
            raise UnknownAccount()
        return await self.change_role(session, resources, user.id, role)

    async def change_role(
        self, session: AsyncSession, resources: Resources, user_id: int, role: Role
    ) -> UserProfile:
        """Give a user another platform role. From the commit on, their access tokens that claim
        the old role are refused (REST and open sockets, which are dropped); refreshing issues
        one with the new role."""
        user = await user_repository.lock(session, user_id)
        if user is None:
            raise UnknownAccount()
        user.role = role
        settings = resources.settings

        async def apply() -> None:
            # After the commit: a rolled-back change must not lock the user's tokens out.
            ttl = settings.access_token_ttl_seconds + 60
            await revocation.mark_role(resources.redis, user_id, role, ttl)
            await revocation.announce(resources.redis, revocation.RoleSet(user_id, role.value))

        call_after_commit(session, apply)
        return profile(user)

    async def start_session(
        self, session: AsyncSession, settings: Settings, user: User
    ) -> schemas.AuthSession:
        """A new sign-in of ``user`` (for sign-ins proven elsewhere, e.g. platform OAuth)."""
        return await self._start_session(session, settings, user, uuid.uuid4())

    async def _start_session(
        self, session: AsyncSession, settings: Settings, user: User, family_id: uuid.UUID
    ) -> schemas.AuthSession:
        refresh_token, token_hash = new_refresh_token()
        await refresh_token_repository.create(
            session,
            user_id=user.id,
            family_id=family_id,
            token_hash=token_hash,
            expires_at=datetime.now(UTC) + timedelta(seconds=settings.refresh_token_ttl_seconds),
        )
        access_token, expires_in = issue_access_token(settings, user.id, user.role, family_id)
        return schemas.AuthSession(
            user=profile(user),
            access_token=access_token,
            refresh_token=refresh_token,
            expires_in=expires_in,
        )

    async def _revoke_family(
        self, session: AsyncSession, resources: Resources, stored: RefreshToken, reason: str
    ) -> None:
        await refresh_token_repository.revoke_family(session, stored.family_id)
        # Access tokens of the family stop working at once, not when they expire. Marked before
        # the commit: should it roll back, a sign-in its user ended anyway stays ended.
        await revocation.mark_session_ended(
            resources.redis,
            stored.family_id,
            reason,
            resources.settings.access_token_ttl_seconds + 60,
        )
        # Open sockets of the sign-in, on every web process, are dropped once it is committed.
        ended = revocation.SessionEnded(stored.user_id, str(stored.family_id), reason)
        call_after_commit(session, lambda: revocation.announce(resources.redis, ended))


def _check_password_strength(password: str, email: str) -> None:
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS:
        raise WeakPassword("is one of the most common passwords; choose another")
    if len(set(password)) < 4:
        raise WeakPassword("uses too few distinct characters")
    if lowered == email.lower() or lowered == email.split("@")[0].lower():
        raise WeakPassword("must not be your email address")


auth_service = AuthService()
