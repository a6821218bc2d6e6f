"""The Twitch adapter's errors: the adapters' own (``integrations.errors``) under Twitch's names."""

from integrations.errors import (
    ApiError,
    ApiUnavailable,
    RateLimited,
    RequestFailed,
    TokenRevoked,
    Unauthorized,
    request_failed,
)

TwitchError = ApiError
TwitchUnavailable = ApiUnavailable
TwitchRequestFailed = RequestFailed

__all__ = [
    "RateLimited",
    "TokenRevoked",
    "TwitchError",
    "TwitchRequestFailed",
    "TwitchUnavailable",
    "Unauthorized",
    "request_failed",
]
