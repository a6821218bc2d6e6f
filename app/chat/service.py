"""Channel chat: anyone signed in may talk (within a rate), staff delete messages and time
people out. Recent messages live in Redis (bounded); every moderation action is kept in
PostgreSQL."""

import uuid
from datetime import UTC, datetime

import msgspec
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.tokens import Principal
from app.channel.permissions import channel_or_404, is_staff, require_staff
from app.chat import schemas
from app.chat.errors import CannotTimeOutStaff, ChatMessageNotFound, ChatTimedOut
from app.chat.repository import chat_repository
from app.kit import ratelimit
from app.kit.effects import call_after_commit, emit_after_commit
from app.kit.errors import InvalidInput, NotAuthenticated
from app.kit.payload import check_text, text_problem
from app.kit.resources import Resources
from app.kit.rooms import channel_room
from app.models.chat import ModerationAction
from integrations.events import PlatformEvent

#: How long a message can still be found by id (to delete it) after it was sent: its id maps
#: to the very JSON pushed to the channel's history, which also takes it out of there.
MESSAGE_INDEX_SECONDS = 24 * 3600

_decode_message = msgspec.json.Decoder(schemas.ChatMessage).decode


def _history_key(channel_id: int) -> str:
    # Scored by the time each message was written (where it was written): platform chat
    # arrives through concurrent jobs, and the history keeps the order it was sent in.
    return f"chat:{channel_id}:timeline"


def _message_key(message_id: str) -> str:
    return f"chat:message:{message_id}"


class ChatService:
    async def send(
        self,
        session: AsyncSession,
        resources: Resources,
        actor: Principal,
        data: schemas.ChatSend,
    ) -> schemas.ChatMessage:
        """Post a message to a channel's chat: everyone in the channel's room sees it."""
        # Checked here, not only by the transports: platform chat reaches this without one.
        text = check_text("text", data.text.strip())
        if not text:
            raise InvalidInput("text", "must not be blank")
        settings = resources.settings
        await ratelimit.hit(
            resources.redis,
            f"chat:{actor.user_id}",
            settings.chat_messages_per_window,
            settings.chat_window_seconds,
        )
        channel = await channel_or_404(session, data.channel)
        until = await chat_repository.timed_out_until(session, channel.id, actor.user_id)
        if until is not None:
            raise ChatTimedOut(until)
        name = await chat_repository.display_name(session, actor.user_id)
        if name is None:
            raise NotAuthenticated()
        message = schemas.ChatMessage(
            id=uuid.uuid4().hex,
            channel_id=channel.id,
            user_id=actor.user_id,
            display_name=name,
            platform="streampools",
            text=text,
            sent_at=datetime.now(UTC),
        )
        call_after_commit(session, lambda: self._remember(resources, message))
        emit_after_commit(session, "chat:message", message, channel_room(channel.id))
        return message

    async def relay(
        self, session: AsyncSession, resources: Resources, channel_id: int, event: PlatformEvent
    ) -> schemas.ChatMessage | None:
        """A linked platform's chat message, shown in the channel's chat beside the site's:
        tagged with its platform, its author's name and badges, timed by the platform. None
        when it carries nothing to show."""
        text = (event.text or "").strip()
        if not text or text_problem(text) is not None or event.author is None:
            return None
        message = schemas.ChatMessage(
            id=f"{event.platform}:{event.message_id or event.delivery_id}",
            channel_id=channel_id,
            user_id=None,
            display_name=event.author.display_name or event.author.login,
            platform=event.platform,
            text=text,
            sent_at=event.occurred_at,
            badges=list(event.author.badges),
        )
        call_after_commit(session, lambda: self._remember(resources, message))
        emit_after_commit(session, "chat:message", message, channel_room(channel_id))
        return message

    async def history(
        self, redis: Redis, channel_id: int, limit: int = 50
    ) -> list[schemas.ChatMessage]:
        """The channel's latest messages, oldest first."""
        raw = await redis.zrange(_history_key(channel_id), -limit, -1)
        return [_decode_message(item) for item in raw]

    async def delete(
        self, session: AsyncSession, resources: Resources, actor: Principal, message_id: str
    ) -> schemas.ChatDeleted:
        """Take a message out of the chat (the channel's staff only); recorded for good."""
        raw = await resources.redis.get(_message_key(message_id))
        if raw is None:
            raise ChatMessageNotFound()
        message = _decode_message(raw)
        channel = await channel_or_404(session, message.channel_id)
        await require_staff(session, channel, actor)
        await chat_repository.record(
            session,
            channel_id=channel.id,
            actor_id=actor.user_id,
            action=ModerationAction.delete,
            target_user_id=message.user_id,
            message_id=message_id,
            message_text=message.text,
        )
        deleted = schemas.ChatDeleted(id=message_id, channel_id=channel.id)
        call_after_commit(session, lambda: self._forget(resources.redis, message, raw))
        emit_after_commit(session, "chat:deleted", deleted, channel_room(channel.id))
        return deleted

    async def timeout(
        self,
        session: AsyncSession,
        resources: Resources,
        actor: Principal,
        data: schemas.ChatTimeout,
    ) -> schemas.ChatTimedOutUser:
        """Keep a viewer out of the chat for ``seconds`` (0 lifts it); staff cannot be timed
        out."""
        if data.seconds > resources.settings.chat_timeout_max_seconds:
            raise InvalidInput("seconds", f"at most {resources.settings.chat_timeout_max_seconds}")
        channel = await channel_or_404(session, data.channel)
        await require_staff(session, channel, actor)
        if await chat_repository.display_name(session, data.user_id) is None:
            raise InvalidInput("user_id", "no such user")
        if await is_staff(session, channel, data.user_id):
            raise CannotTimeOutStaff()
        row = await chat_repository.record(
            session,
            channel_id=channel.id,
            actor_id=actor.user_id,
            action=ModerationAction.timeout,
            target_user_id=data.user_id,
            seconds=data.seconds,
        )
        assert row.expires_at is not None
        return schemas.ChatTimedOutUser(
            channel_id=channel.id, user_id=data.user_id, until=row.expires_at
        )

    async def _remember(self, resources: Resources, message: schemas.ChatMessage) -> None:
        key = _history_key(message.channel_id)
        raw = msgspec.json.encode(message)
        async with resources.redis.pipeline(transaction=True) as pipe:
            pipe.zadd(key, {raw: message.sent_at.timestamp()})
            pipe.zremrangebyrank(key, 0, -resources.settings.chat_history_size - 1)
            pipe.set(_message_key(message.id), raw, ex=MESSAGE_INDEX_SECONDS)
            await pipe.execute()

    async def _forget(self, redis: Redis, message: schemas.ChatMessage, raw: str) -> None:
        async with redis.pipeline(transaction=True) as pipe:
            pipe.zrem(_history_key(message.channel_id), raw)
            pipe.delete(_message_key(message.id))
            await pipe.execute()


chat_service = ChatService()
