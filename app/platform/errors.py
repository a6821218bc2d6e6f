"""Why a platform identity or token action was refused."""

from typing import Any

from app.kit.errors import AppError, Forbidden, NotFound


class PlatformError(AppError):
    status = 409


class PlatformIdentityTaken(PlatformError):
    code = "platform_identity_taken"
    message = (
        "This platform account already belongs to another account here; sign in with it"
        " instead, or unlink it there first."
    )


class AccountCannotLink(PlatformError):
    """Only full accounts link platform identities (a chat-only or merged account cannot)."""

    code = "account_cannot_link"
    message = "This account cannot link a platform account."


class UnknownPlatformAccount(NotFound):
    code = "platform_account_not_found"
    message = "No such platform account."


class TokenRevoked(Exception):
    """Raised by a token refresher: the platform refused the refresh token for good (revoked,
    or the grant withdrawn), so only its owner signing in again can restore it."""


class OAuthFailed(AppError):
    """A platform sign-in that cannot go on (the callback's answers)."""

    status = 400


class OAuthStateInvalid(OAuthFailed):
    code = "oauth_state_invalid"
    message = (
        "This sign-in link is unknown, expired or already used, or was started in another"
        " browser: start again."
    )


class OAuthDenied(OAuthFailed):
    code = "oauth_denied"
    message = "The platform did not grant access (you cancelled, or declined the permissions)."


class YouTubeChannelMissing(OAuthFailed):
    code = "youtube_channel_missing"
    message = (
        "This Google account has no YouTube channel: sign in with the account that owns one"
        " (chatting on YouTube needs one too)."
    )


class OAuthCodeRefused(OAuthFailed):
    code = "oauth_code_refused"
    message = "The platform refused the sign-in code (used already, or expired): start again."


class PlatformUnavailable(AppError):
    code = "platform_unavailable"
    status = 502
    message = "The platform did not answer; try again in a moment."


class BotNeedsAdmin(Forbidden):
    code = "forbidden"
    message = "Only a platform admin may link the chat bot account."


class OAuthRedirect(AppError):
    """A sign-in that failed after its state was known: the browser goes back to the page
    that started it (``return_to``), the error named in the URL fragment. The unit of work
    rolls back as for any error."""

    status = 303

    def __init__(self, location: str, cause: AppError) -> None:
        super().__init__(cause.detail, **cause.details)
        self.location = location
        self.cause = cause

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "code": self.cause.code}

    @property
    def headers(self) -> dict[str, str]:
        return {"Location": self.location}
