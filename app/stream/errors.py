"""Why a stream platform's delivery was refused."""

from app.inbox.errors import InvalidWebhookSignature
from app.kit.errors import AppError


class StreamError(AppError):
    status = 409


class TwitchNotConfigured(StreamError):
    code = "twitch_not_configured"
    status = 503
    message = "Twitch is not configured on this server (STREAMPOOLS_TWITCH_EVENTSUB_SECRET)."


class ForgedDelivery(InvalidWebhookSignature):
    """A delivery whose signature or age does not check out: Twitch's documentation asks for a
    403, and nothing is stored."""

    status = 403


class MalformedDelivery(StreamError):
    """Signed, but not a message we can read: nothing is stored."""

    code = "malformed_payload"
    status = 400

    def __init__(self, reason: str) -> None:
        super().__init__(f"The delivery could not be read: {reason}.")
