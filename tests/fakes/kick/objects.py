"""Kick's webhook events as Kick renders them (version 1), and its ids."""

import os
import time
from datetime import UTC, datetime
from typing import Any

JsonObject = dict[str, Any]

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid() -> str:
    """A ULID (Kick's message ids): 48 bits of milliseconds, 80 random bits, Crockford base32."""
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def rfc3339(moment: datetime | None = None) -> str:
    """A timestamp as Kick writes it: UTC, seconds, ``Z``."""
    return (moment or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def user(user_id: int, username: str, *, badges: list[JsonObject] | None = None) -> JsonObject:
    """A user as events carry them (``broadcaster``, ``sender``)."""
    shown: JsonObject = {
        "is_anonymous": False,
        "user_id": user_id,
        "username": username,
        "is_verified": False,
        "profile_picture": f"https://files.kick.com/images/user/{user_id}/profile_image.webp",
        "channel_slug": username.lower(),
    }
    if badges is not None:
        shown["identity"] = {"username_color": "#FF9CA7", "badges": badges}
    return shown


def badge(badge_type: str, text: str | None = None, count: int | None = None) -> JsonObject:
    shown: JsonObject = {"text": text or badge_type.capitalize(), "type": badge_type}
    if count is not None:
        shown["count"] = count
    return shown


def chat_message_event(
    broadcaster_id: int,
    broadcaster: str,
    *,
    sender_id: int,
    sender: str,
    content: str,
    badges: list[JsonObject] | None = None,
    message_id: str | None = None,
) -> JsonObject:
    """A ``chat.message.sent`` event."""
    return {
        "message_id": message_id or ulid(),
        "replies_to": None,
        "broadcaster": user(broadcaster_id, broadcaster),
        "sender": user(sender_id, sender, badges=badges or []),
        "content": content,
        "emotes": None,
        "created_at": rfc3339(),
    }


def livestream_status_event(
    broadcaster_id: int,
    broadcaster: str,
    *,
    is_live: bool,
    title: str = "Stream",
    started_at: datetime | None = None,
    ended_at: datetime | None = None,
) -> JsonObject:
    """A ``livestream.status.updated`` event."""
    return {
        "broadcaster": user(broadcaster_id, broadcaster),
        "is_live": is_live,
        "title": title,
        "started_at": rfc3339(started_at),
        "ended_at": None if is_live else rfc3339(ended_at),
    }
