"""EventSub payloads and Helix objects as Twitch renders them (EventSub reference, version 1)."""

import uuid
from datetime import UTC, datetime
from typing import Any

JsonObject = dict[str, Any]


def new_id() -> str:
    """Twitch's ids of messages, subscriptions and predictions are UUIDs."""
    return str(uuid.uuid4())


def rfc3339(moment: datetime | None = None, *, nanoseconds: bool = True) -> str:
    """A timestamp as Twitch writes it: UTC, ``Z``, and nanoseconds in EventSub headers."""
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    base = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if nanoseconds:
        return f"{base}.{moment.microsecond:06d}{moment.microsecond % 7:03d}Z"
    return f"{base}.{moment.microsecond:06d}Z"


def user(user_id: str, login: str, display_name: str | None = None) -> JsonObject:
    """A Helix ``/users`` entry."""
    return {
        "id": user_id,
        "login": login,
        "display_name": display_name or login.capitalize(),
        "type": "",
        "broadcaster_type": "affiliate",
        "description": "",
        "profile_image_url": f"https://static-cdn.jtvnw.net/{login}-profile_image-300x300.png",
        "offline_image_url": "",
        "view_count": 0,
        "created_at": "2016-12-14T20:32:28Z",
    }


def subscription(
    subscription_type: str,
    condition: JsonObject,
    transport: JsonObject,
    *,
    subscription_id: str | None = None,
    version: str = "1",
    status: str = "enabled",
    created_at: datetime | None = None,
    cost: int = 0,
) -> JsonObject:
    """A subscription as Helix lists it and EventSub messages carry it (never its secret)."""
    shown = {key: value for key, value in transport.items() if key != "secret"}
    return {
        "id": subscription_id or new_id(),
        "status": status,
        "type": subscription_type,
        "version": version,
        "condition": condition,
        "transport": shown,
        "created_at": rfc3339(created_at, nanoseconds=True),
        "cost": cost,
    }


def _broadcaster(user_id: str, login: str) -> JsonObject:
    return {
        "broadcaster_user_id": user_id,
        "broadcaster_user_login": login,
        "broadcaster_user_name": login.capitalize(),
    }


def stream_online_event(
    broadcaster_id: str,
    login: str,
    *,
    stream_id: str = "9001",
    stream_type: str = "live",
    started_at: datetime | None = None,
) -> JsonObject:
    return {
        "id": stream_id,
        **_broadcaster(broadcaster_id, login),
        "type": stream_type,
        "started_at": rfc3339(started_at, nanoseconds=False),
    }


def stream_offline_event(broadcaster_id: str, login: str) -> JsonObject:
    return _broadcaster(broadcaster_id, login)


def badge(set_id: str, badge_id: str = "1", info: str = "") -> JsonObject:
    return {"set_id": set_id, "id": badge_id, "info": info}


def chat_message_event(
    broadcaster_id: str,
    broadcaster_login: str,
    *,
    chatter_id: str,
    chatter_login: str,
    text: str,
    badges: list[JsonObject] | None = None,
    message_id: str | None = None,
) -> JsonObject:
    """A ``channel.chat.message`` event, with the shared-chat keys Twitch sends (null here)."""
    return {
        **_broadcaster(broadcaster_id, broadcaster_login),
        "chatter_user_id": chatter_id,
        "chatter_user_login": chatter_login,
        "chatter_user_name": chatter_login.capitalize(),
        "message_id": message_id or new_id(),
        "message": {
            "text": text,
            "fragments": [
                {"type": "text", "text": text, "cheermote": None, "emote": None, "mention": None}
            ],
        },
        "color": "#00FF7F",
        "badges": badges or [],
        "message_type": "text",
        "cheer": None,
        "reply": None,
        "channel_points_custom_reward_id": None,
        "channel_points_animation_id": None,
        "source_broadcaster_user_id": None,
        "source_broadcaster_user_login": None,
        "source_broadcaster_user_name": None,
        "source_message_id": None,
        "source_badges": None,
        "is_source_only": None,
    }


def prediction_event(
    phase: str,
    broadcaster_id: str,
    login: str,
    *,
    prediction_id: str,
    title: str,
    outcomes: list[JsonObject],
    started_at: datetime | None = None,
    locks_at: datetime | None = None,
    locked_at: datetime | None = None,
    ended_at: datetime | None = None,
    winning_outcome_id: str | None = None,
    status: str | None = None,
) -> JsonObject:
    """A ``channel.prediction.<phase>`` event. ``outcomes`` hold ``id``, ``title``, ``color``
    and, past ``begin``, ``users``, ``channel_points`` and ``top_predictors``: ``begin`` is sent
    before anyone predicts and carries none of the three."""
    event: JsonObject = {
        "id": prediction_id,
        **_broadcaster(broadcaster_id, login),
        "title": title,
        "outcomes": [
            dict(outcome)
            if phase != "begin"
            else {key: outcome[key] for key in ("id", "title", "color") if key in outcome}
            for outcome in outcomes
        ],
        "started_at": rfc3339(started_at, nanoseconds=False),
    }
    if phase in ("begin", "progress"):
        event["locks_at"] = rfc3339(locks_at, nanoseconds=False)
    if phase == "lock":
        event["locked_at"] = rfc3339(locked_at, nanoseconds=False)
    if phase == "end":
        event["winning_outcome_id"] = winning_outcome_id
        event["status"] = status or "resolved"
        event["ended_at"] = rfc3339(ended_at, nanoseconds=False)
    return event


def outcome(
    outcome_id: str,
    title: str,
    *,
    color: str = "blue",
    users: int = 0,
    channel_points: int = 0,
    top_predictors: list[JsonObject] | None = None,
) -> JsonObject:
    return {
        "id": outcome_id,
        "title": title,
        "color": color,
        "users": users,
        "channel_points": channel_points,
        "top_predictors": top_predictors or [],
    }


def top_predictor(user_id: str, login: str, *, used: int, won: int | None = None) -> JsonObject:
    return {
        "user_id": user_id,
        "user_login": login,
        "user_name": login.capitalize(),
        "channel_points_used": used,
        "channel_points_won": won,
    }
