"""What every platform's signed webhook delivery shares: the headers read case-insensitively, its
RFC 3339 timestamp, and the window it must fall in (a replay is refused)."""

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Final

#: Refuse messages older than this (replays), and as far in the future (Twitch's advice; Kick
#: documents no window, so the same one).
MAX_MESSAGE_AGE: Final = timedelta(minutes=10)


class InvalidSignature(Exception):
    """The request is not a genuine, fresh delivery; ``reason`` says why (answer 403)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MalformedMessage(ValueError):
    """A delivery, or the event inside it, does not have the documented shape (answer 400)."""


_RFC3339 = re.compile(
    r"^(?P<base>\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2})(?:\.(?P<fraction>\d+))?"
    r"(?P<offset>[Zz]|[+-]\d{2}:\d{2})$"
)


def parse_timestamp(value: str) -> datetime:
    """An RFC 3339 timestamp as an aware datetime; Twitch sends nanoseconds, which
    ``datetime.fromisoformat`` refuses, so the fraction is cut to microseconds."""
    match = _RFC3339.match(value.strip())
    if match is None:
        raise ValueError(f"not an RFC 3339 timestamp: {value!r}")
    fraction = (match["fraction"] or "")[:6].ljust(6, "0")
    offset = "+00:00" if match["offset"] in ("Z", "z") else match["offset"]
    return datetime.fromisoformat(f"{match['base'].replace(' ', 'T')}.{fraction}{offset}")


def check_fresh(timestamp: str, now: datetime | None = None) -> None:
    """``InvalidSignature`` unless the signed ``timestamp`` is within ``MAX_MESSAGE_AGE`` of
    ``now``, either side."""
    try:
        sent_at = parse_timestamp(timestamp)
    except ValueError as exc:
        raise InvalidSignature("malformed timestamp") from exc
    current = datetime.now(UTC) if now is None else now
    if sent_at < current - MAX_MESSAGE_AGE:
        raise InvalidSignature("timestamp too old")
    if sent_at > current + MAX_MESSAGE_AGE:
        raise InvalidSignature("timestamp in the future")


def lowered(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def required(headers: Mapping[str, str], name: str) -> str:
    """A signed header (``headers`` lowered): missing is a forged delivery."""
    value = headers.get(name)
    if not value:
        raise InvalidSignature(f"missing header {name}")
    return value
