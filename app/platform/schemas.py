"""What platform sign-in hands us, what a token refresh returns, and what we tell users."""

from datetime import datetime
from typing import Literal

import msgspec

from app.kit.schema import Output
from app.models.channel import Platform
from app.models.platform import TokenPurpose


class IdentityInfo(msgspec.Struct, frozen=True, kw_only=True):
    """A platform identity as its OAuth sign-in proved it (ids from the platform's API, never
    from user input)."""

    platform: Platform
    platform_user_id: str
    login: str
    display_name: str
    #: The platform's verified email, if it shared one.
    email: str | None = None


class TokenSet(msgspec.Struct, frozen=True, kw_only=True):
    """Tokens as the platform issued them (plain text: encrypted before they are stored)."""

    access_token: str
    refresh_token: str
    expires_at: datetime
    scopes: tuple[str, ...] = ()


class RelinkNeeded(Output):
    """A ``notification`` to a user whose platform tokens stopped working."""

    kind: Literal["platform.needs_relink"]
    platform: Platform
    login: str
    purpose: TokenPurpose


class RefreshReport(Output):
    refreshed: int
    needs_relink: int
    failed: int
