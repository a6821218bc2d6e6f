"""Errors of the inbox: a webhook refused before anything is stored."""

from app.kit.errors import AppError


class InboxError(AppError):
    """Base of the inbox's errors."""


class InvalidWebhookSignature(InboxError):
    """Not a genuine, fresh event of the vendor (bad or stale signature, a payload we refuse
    to parse): nothing is stored, the vendor gets a 400."""

    code = "invalid_signature"
    status = 400

    def __init__(self, reason: str) -> None:
        super().__init__(f"The webhook signature was rejected: {reason}.")
        self.reason = reason
