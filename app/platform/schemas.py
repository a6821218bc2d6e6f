"""What platform sign-in hands us, what a token refresh returns, and what we tell users."""

import enum
from datetime import datetime
from typing import Annotated

import msgspec

from app.auth.schemas import AuthSession
from app.channel.schemas import Link
from app.kit.schema import Input, Output
from app.models.channel import Platform


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


class RefreshReport(Output):
    refreshed: int
    needs_relink: int
    failed: int


class OAuthPurpose(enum.StrEnum):
    """What a platform sign-in is for (each asks the platform for its own scopes)."""

    sign_in = "sign_in"  # sign in, or create an account
    link_account = "link_account"  # add the platform identity to the signed-in account
    link_channel = "link_channel"  # the channel owner's broadcaster grant: a verified link
    bot = "bot"  # the platform's chat bot account (admins)


ReturnTo = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=2048,
        description="Where the browser goes once the platform sent it back: a path, or a URL of"
        " this"
        " server's own origin (any other is refused). Without it the callback answers JSON.",
    ),
]


class SignInStart(Input):
    purpose: OAuthPurpose
    #: The channel to link (``link_channel`` only).
    channel_id: Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1)] | None = None
    return_to: ReturnTo | None = None


class SignInAuthorization(Output):
    """Send the browser to ``authorize_url``; the platform sends it back to the callback."""

    authorize_url: str
    #: Single use, valid for ten minutes, bound to this browser (the ``<platform>_oauth``
    #: cookie).
    state: str
    scopes: list[str]
    expires_in: int


class PlatformIdentity(Output):
    platform: Platform
    platform_user_id: str
    login: str
    display_name: str


class SignInResult(Output):
    """What the sign-in did (when the start named no ``return_to``)."""

    purpose: OAuthPurpose
    identity: PlatformIdentity
    #: ``sign_in``: the new sign-in, as ``/auth/login`` answers it.
    session: AuthSession | None = None
    #: ``link_channel``: the channel's verified link.
    link: Link | None = None


class PlatformApp(Output):
    """A stream platform, as this server offers it."""

    platform: Platform
    #: The platform's name, as people read it.
    name: str
    #: Whether this server has the platform's app (its OAuth client id and secret). Without it
    #: signing in and linking with the platform answer 503 ``<platform>_not_configured``.
    configured: bool


class PlatformAppList(Output):
    #: Twitch, Kick and YouTube, always in that order.
    platforms: list[PlatformApp]


class LinkState(Link):
    """A platform link as its channel's owner sees it: who proved it and how it is doing."""

    #: The platform account that proved the link (verified links), as the platform names it
    #: now; None for an unverified link.
    login: str | None = None
    display_name: str | None = None
    #: YouTube, verified links: while the day's shared YouTube quota leaves no chat poll, when
    #: chat betting on YouTube resumes (Google's reset, midnight Pacific time); None otherwise.
    #: Bets on the web go on meanwhile.
    quota_paused_until: datetime | None = None


class LinkStateList(Output):
    channel_id: int
    #: Oldest first.
    links: list[LinkState]
