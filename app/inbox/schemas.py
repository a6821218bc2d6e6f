"""What every webhook endpoint answers, and what a vendor's check of a request yields."""

from typing import Any, NamedTuple

from app.kit.schema import Output


class VerifiedEvent(NamedTuple):
    """A vendor's event whose signature checked out: its id (the inbox dedupes on it) and
    type."""

    external_id: str
    event_type: str
    #: What the inbox stores when it is not the body as received (e.g. the body with the
    #: delivery's signed headers, which say what the body alone does not).
    payload: dict[str, Any] | None = None


class WebhookChallenge(NamedTuple):
    """A signed request of the vendor checking that the endpoint is ours: answered with
    ``text`` as plain text; nothing is stored."""

    text: str


class WebhookReceived(Output):
    """The 2xx answer: the event is stored (``duplicate``: it already was)."""

    received: bool
    duplicate: bool
