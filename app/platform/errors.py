"""Why a platform identity or token action was refused."""

from app.kit.errors import AppError, NotFound


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
