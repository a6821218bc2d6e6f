"""Where a YouTube channel's live chat is while it streams (kept in Redis by the live check),
and the bot's replies written there within the shared quota (``liveChatMessages.insert``,
20 units each)."""

import time
from datetime import UTC, datetime
from typing import Final

import msgspec
from redis.asyncio import Redis

from app.settings import Settings
from app.stream.youtube_quota import QuotaPlanner, seconds_to_reset
from integrations.chat import ChatMessageSent, RefreshToken
from integrations.errors import ApiError, RateLimited
from integrations.youtube.api import INSERT_COST, QuotaExceeded, YouTubeApi

#: YouTube channel id → ``LiveChat`` of the channels live now.
LIVE: Final = "youtube:live"


class LiveChat(msgspec.Struct, frozen=True, kw_only=True):
    #: Our channel, the broadcaster's platform account, the broadcast and its chat.
    channel_id: int
    account_id: int
    broadcast_id: str
    live_chat_id: str


_decoder = msgspec.json.Decoder(LiveChat)


async def live_chats(redis: Redis) -> dict[str, LiveChat]:
    raw = await redis.hgetall(LIVE)  # type: ignore[misc]
    return {str(key): _decoder.decode(value) for key, value in raw.items()}


async def live_chat(redis: Redis, youtube_channel: str) -> LiveChat | None:
    raw = await redis.hget(LIVE, youtube_channel)  # type: ignore[misc]
    return None if raw is None else _decoder.decode(raw)


class NotLive(ApiError):
    """The channel has no live chat now: a reply has nowhere to go."""


class YouTubeChat:
    """``ChatSender`` for the reply outbox: ``broadcaster_id`` is the YouTube channel; the
    message goes to its live chat once its 20 units are reserved. No units left: a
    ``RateLimited`` until the reset (the outbox keeps the replies while they are fresh)."""

    def __init__(self, api: YouTubeApi, settings: Settings, redis: Redis) -> None:
        self._api = api
        self._redis = redis
        self._planner = QuotaPlanner(settings, redis)

    async def send_chat_message(
        self,
        token: str,
        *,
        broadcaster_id: str,
        sender_id: str,
        message: str,
        reply_parent_message_id: str | None = None,
        refresh: RefreshToken | None = None,
    ) -> ChatMessageSent:
        chat = await live_chat(self._redis, broadcaster_id)
        if chat is None:
            raise NotLive(f"YouTube channel {broadcaster_id} is not live")
        now = datetime.now(UTC)
        if not await self._planner.reserve(INSERT_COST, now):
            raise RateLimited(
                "YouTube quota spent for today", reset_at=time.time() + seconds_to_reset(now)
            )
        try:
            message_id = await self._api.insert_chat_message(
                token, chat.live_chat_id, message, refresh=refresh
            )
        except QuotaExceeded as exc:
            await self._planner.exhausted(now)
            raise RateLimited(
                "YouTube quota spent for today", reset_at=time.time() + seconds_to_reset(now)
            ) from exc
        return ChatMessageSent(message_id=message_id, is_sent=True)
