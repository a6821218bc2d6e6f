"""What every webhook endpoint answers, and what a vendor's check of a request yields."""

from typing import NamedTuple

from app.kit.schema import Output


class VerifiedEvent(NamedTuple):
    """A vendor's event whose signature checked out: its id (the inbox dedupes on it) and
    type."""

    external_id: str
    event_type: str


class WebhookReceived(Output):
    """The 2xx answer: the event is stored (``duplicate``: it already was)."""

    received: bool
    duplicate: bool
