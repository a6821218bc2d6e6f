"""Why signing up or in did not work, or stopped working."""

from app.kit.errors import AppError, NotFound, ServiceUnavailable


class AuthError(AppError):
    status = 401


class EmailTaken(AuthError):
    code = "email_taken"
    status = 409
    message = "An account with this email already exists. Sign in instead."


class WeakPassword(AuthError):
    code = "validation_error"
    status = 422

    def __init__(self, reason: str) -> None:
        super().__init__(f"password: {reason}", field="password")


class InvalidCredentials(AuthError):
    code = "invalid_credentials"
    message = "Email or password is incorrect."


class InvalidAccessToken(AuthError):
    code = "invalid_token"
    message = "The access token is invalid or expired; refresh it or sign in again."


class InvalidRefreshToken(AuthError):
    code = "invalid_refresh_token"
    message = "The refresh token is invalid, expired or revoked; sign in again."


class RefreshTokenReused(AuthError):
    code = "refresh_token_reused"
    message = (
        "This refresh token was already used. Every session of this sign-in has been "
        "revoked to be safe; sign in again."
    )
    keeps_changes = True


class SessionRevoked(AuthError):
    code = "session_revoked"
    message = "This sign-in has ended (signed out, or revoked to be safe); sign in again."

    def __init__(self, reason: str) -> None:
        super().__init__(reason=reason)


class RoleChanged(AuthError):
    code = "role_changed"
    message = "Your role changed: refresh your access token (or sign in again) to go on."


class UnknownAccount(NotFound):
    code = "user_not_found"
    message = "No such user."


class PasswordChecksBusy(ServiceUnavailable):
    """More sign-ups and sign-ins are waiting for a password hash than the process queues."""

    message = "Too many sign-ins and sign-ups are being checked right now; try again in a moment."

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": "1"}
