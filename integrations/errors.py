"""The errors every stream platform's adapter raises: callers never handle httpx's exceptions or
read a status code, and handle Twitch's and Kick's failures alike."""

import httpx


class ApiError(Exception):
    """Root of the adapters' errors."""


class ApiUnavailable(ApiError):
    """The platform could not be reached or failed (network, timeout, 5xx) even after retries."""


class RateLimited(ApiUnavailable):
    """The token's rate-limit bucket stayed empty longer than the client will wait."""

    def __init__(self, message: str, *, reset_at: float) -> None:
        super().__init__(message)
        #: When the platform refills the bucket (Unix time).
        self.reset_at = reset_at


class RequestFailed(ApiError):
    """The platform refused the request (4xx): retrying the same request will not help."""

    def __init__(self, message: str, *, status: int, error: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        #: The platform's short error name ("Bad Request", "invalid_grant"...).
        self.error = error


class Unauthorized(RequestFailed):
    """The token was refused (401): expired, revoked, or not this client's."""


class TokenRevoked(Unauthorized):
    """A user's token still fails after a refresh, or its refresh token is refused: the
    platform link needs the user to sign in again ("needs relink")."""


def request_failed(response: httpx.Response) -> RequestFailed:
    """The error a 4xx response stands for, from the platform's JSON error body (``error`` and
    ``message``, or OAuth's ``error_description``) when it has one."""
    error: str | None = None
    message = response.reason_phrase or f"HTTP {response.status_code}"
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        # Google's APIs: {"error": {"code", "message", "errors": [{"reason", ...}]}}; the first
        # reason ("quotaExceeded", "liveChatEnded"...) is the error's name.
        body = body["error"]
        reasons = body.get("errors")
        first = reasons[0] if isinstance(reasons, list) and reasons else None
        if isinstance(first, dict) and isinstance(first.get("reason"), str):
            body = {**body, "error": first["reason"]}
    if isinstance(body, dict):
        error = body.get("error") if isinstance(body.get("error"), str) else None
        for key in ("message", "error_description"):
            if isinstance(body.get(key), str) and body[key]:
                message = body[key]
                break
    kind = Unauthorized if response.status_code == 401 else RequestFailed
    return kind(message, status=response.status_code, error=error)
