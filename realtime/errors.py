"""Errors only the socket transport raises; rendered like every AppError in acks."""

from app.kit.errors import AppError, Forbidden, NotAuthenticated, RateLimited


class SignInToAct(NotAuthenticated):
    message = "Connect with a token (auth: {token}) to do this; anonymous clients may only watch."


class TokenExpired(AppError):
    code = "token_expired"
    status = 401
    message = "Your access token expired: send auth:refresh with a new one."


class TooManyEvents(RateLimited):
    message = "Too many events from this connection; slow down."

    def __init__(self) -> None:
        super().__init__(retry_after=1)


class UnknownEvent(AppError):
    code = "unknown_event"
    status = 400
    message = "The server does not know this event."


class TooManyChannels(AppError):
    code = "too_many_channels"
    status = 409
    message = "This connection has joined as many channels as it may; leave one first."


class DifferentUser(AppError):
    code = "forbidden"
    status = 403
    message = "A refreshed token must belong to the same user as the connection."


class OverlayReadOnly(Forbidden):
    code = "overlay_read_only"
    message = "An overlay key only watches its channel: it cannot bet, chat or moderate."


class OverlayOtherChannel(Forbidden):
    code = "forbidden"
    message = "This overlay key watches another channel."
