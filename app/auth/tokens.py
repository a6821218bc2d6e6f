"""Access tokens (short-lived JWTs, HS256 pinned) and opaque refresh tokens."""

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from app.models.user import Role
from app.settings import Settings

ALGORITHM = "HS256"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking, as proven by a valid access token."""

    user_id: int
    role: Role
    #: The sign-in (refresh token family) the access token belongs to; None for automation.
    family_id: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.admin


class InvalidToken(Exception):
    pass


def issue_access_token(
    settings: Settings, user_id: int, role: Role, family_id: uuid.UUID
) -> tuple[str, int]:
    now = datetime.now(UTC)
    ttl = settings.access_token_ttl_seconds
    claims = {
        "sub": str(user_id),
        "role": role.value,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + timedelta(seconds=ttl),
        "jti": uuid.uuid4().hex,
        "fam": str(family_id),
    }
    token = jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm=ALGORITHM)
    return token, ttl


def decode_access_token(settings: Settings, token: str) -> tuple[Principal, int]:
    """Return the principal (with its sign-in family) and the token's expiry (unix seconds);
    raise InvalidToken."""
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret.get_secret_value(),
            algorithms=[ALGORITHM],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "iat", "sub", "iss", "aud", "fam"]},
        )
        principal = Principal(
            user_id=int(claims["sub"]), role=Role(claims["role"]), family_id=str(claims["fam"])
        )
        return principal, int(claims["exp"])
    except (jwt.PyJWTError, KeyError, ValueError) as error:
        raise InvalidToken(str(error)) from error


def new_refresh_token() -> tuple[str, bytes]:
    """A fresh opaque token and the hash we keep of it."""
    token = secrets.token_urlsafe(32)
    return token, hash_refresh_token(token)


def hash_refresh_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()
