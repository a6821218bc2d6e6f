"""Why a stream platform's delivery was refused."""

from app.inbox.errors import InvalidWebhookSignature
from app.kit.errors import AppError


class StreamError(AppError):
    status = 409


class TwitchNotConfigured(StreamError):
    code = "twitch_not_configured"
    status = 503
    message = "Twitch is not configured on this server (STREAMPOOLS_TWITCH_EVENTSUB_SECRET)."


class KickNotConfigured(StreamError):
    code = "kick_not_configured"
    status = 503
    message = "Kick is not configured on this server (STREAMPOOLS_KICK_CLIENT_ID)."


class YouTubeNotConfigured(StreamError):
    code = "youtube_not_configured"
    status = 503
    message = "YouTube is not configured on this server (STREAMPOOLS_YOUTUBE_CLIENT_ID)."


class KickKeyUnavailable(StreamError):
    """No key to verify Kick's deliveries with (none configured, Kick's not reachable): Kick
    sends the delivery again later."""

    code = "kick_key_unavailable"
    status = 503
    message = "Kick's public key is not available yet; try again later."


class ForgedDelivery(InvalidWebhookSignature):
    """A delivery whose signature or age does not check out: a 403 (as Twitch's documentation
    asks), and nothing is stored."""

    status = 403


class MalformedDelivery(StreamError):
    """Signed, but not a message we can read: nothing is stored."""

    code = "malformed_payload"
    status = 400

    def __init__(self, reason: str) -> None:
        super().__init__(f"The delivery could not be read: {reason}.")
