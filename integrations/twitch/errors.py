"""The Twitch adapter's errors: callers never handle httpx's exceptions or read a status code."""

import httpx


class TwitchError(Exception):
    """Root of the adapter's errors."""


class TwitchUnavailable(TwitchError):
    """Twitch could not be reached or failed (network, timeout, 5xx) even after retries."""


class RateLimited(TwitchUnavailable):
    """The token's rate-limit bucket stayed empty longer than the client will wait."""

    def __init__(self, message: str, *, reset_at: float) -> None:
        super().__init__(message)
        #: When Twitch refills the bucket (Unix time, from ``Ratelimit-Reset``).
        self.reset_at = reset_at


class TwitchRequestFailed(TwitchError):
    """Twitch refused the request (4xx): retrying the same request will not help."""

    def __init__(self, message: str, *, status: int, error: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        #: Twitch's short error name ("Bad Request", "Conflict"...).
        self.error = error


class Unauthorized(TwitchRequestFailed):
    """The token was refused (401): expired, revoked, or not this client's."""


class TokenRevoked(Unauthorized):
    """A user's token still fails after a refresh, or its refresh token is refused: the
    platform link needs the user to sign in again ("needs relink")."""


def request_failed(response: httpx.Response) -> TwitchRequestFailed:
    """The error a 4xx response stands for, from Twitch's ``{"error", "status", "message"}``."""
    error: str | None = None
    message = response.reason_phrase or f"HTTP {response.status_code}"
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        error = body.get("error") if isinstance(body.get("error"), str) else None
        if isinstance(body.get("message"), str) and body["message"]:
            message = body["message"]
    kind = Unauthorized if response.status_code == 401 else TwitchRequestFailed
    return kind(message, status=response.status_code, error=error)
