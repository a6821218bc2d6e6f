"""The bot's replies in platform chats: an outbox per platform chat, kept in Redis, flushed by a
job that coalesces what waits into as few chat messages as fit, sent as the platform's bot
within the chat's rate limit.

How a reply travels, and why it goes out at most once:

1. After the command's unit of work commits, its line is appended to the chat's ``pending``
   list, and a flush job is enqueued for the current coalescing window (a job id naming the
   window, so one flush per window however many lines arrive in it).
2. The flush (``run`` = its window) renames ``pending`` to its own ``taking`` key (atomic: each
   line belongs to one run), composes the lines into messages (bets joined into one message,
   under the platform's 500 characters, split when needed) and stores them as its ``inflight``
   list in one transaction.
3. Each message is moved atomically from ``inflight`` to ``sending`` before it is sent and
   deleted after. If arq runs the job again (its worker died mid-run), a message left in
   ``sending`` may have gone out: it is logged and never sent again; what is still
   ``inflight`` was surely not sent, and goes.
4. A full rate limit (ours or the platform's 429) or a refused token puts the unsent messages back at
   the head of ``pending`` and schedules a flush for when the limit resets. Nothing is retried
   that might have been sent (a network error or a 5xx after posting): logged instead.

Replies are not money: lines older than ``chat_reply_max_age_seconds`` are dropped with a log,
and without a bot (or with the platform's app not configured) nothing is sent (logged once an hour). A
flush lost with Redis's job queue is made good by ``sweep`` (a cron job), which schedules a
flush for every chat whose outbox still holds lines."""

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass

import msgspec

from app.command.schemas import ReplyLine
from app.kit import ratelimit
from app.kit.errors import RateLimited
from app.kit.platforms import AnyClients, clients_for
from app.kit.resources import Resources
from app.kit.uow import unit_of_work
from app.models.channel import Platform
from app.models.platform import TokenPurpose
from app.platform.oauth import oauth_refresher
from app.platform.tokens import platform_token_service
from app.stream.youtube_chat import YouTubeChat
from integrations.chat import (
    MAX_CHAT_MESSAGE_LENGTH,
    ChatSender,
    InvalidChatMessage,
    RefreshToken,
)
from integrations.errors import ApiError, TokenRevoked, Unauthorized
from integrations.errors import RateLimited as PlatformRateLimited
from integrations.youtube.api import MAX_YOUTUBE_CHAT_LENGTH, YouTubeApi

log = logging.getLogger(__name__)

JOB = "command.send_replies"
#: Chats (``platform:broadcaster``) whose outbox may hold lines, for the sweep.
CHATS = "command:replies:chats"
BET_SEPARATOR = ", "
SEGMENT_SEPARATOR = " · "
BETS_DONE = " ✓"
#: After a refused token, try again this much later (the token refresher may renew it).
TOKEN_RETRY_SECONDS = 30.0
#: How long a run's own keys live if it never finishes (they are deleted when it does).
RUN_KEY_SECONDS = 3600

# Each line belongs to one run: the run's earlier take if it has one, else all that waits.
_TAKE = """
if redis.call('EXISTS', KEYS[2]) == 1 or redis.call('EXISTS', KEYS[3]) == 1 then
    return 0
end
if redis.call('EXISTS', KEYS[1]) == 0 then
    return 0
end
redis.call('RENAME', KEYS[1], KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[1])
return 1
"""

# The next message to send, marked as being sent (never sent again once marked).
_NEXT = """
local message = redis.call('LPOP', KEYS[1])
if message then
    redis.call('SET', KEYS[2], message, 'EX', ARGV[1])
end
return message
"""

# The message being sent and those after it, back at the head of the outbox, in order.
_PUT_BACK = """
local current = redis.call('GET', KEYS[1])
local rest = redis.call('LRANGE', KEYS[2], 0, -1)
for i = #rest, 1, -1 do
    redis.call('LPUSH', KEYS[3], rest[i])
end
if current then
    redis.call('LPUSH', KEYS[3], current)
end
redis.call('DEL', KEYS[1], KEYS[2])
return #rest
"""

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(ReplyLine)


def chat_key(platform: str, broadcaster_id: str) -> str:
    return f"{platform}:{broadcaster_id}"


def pending_key(platform: str, broadcaster_id: str) -> str:
    return f"command:replies:{chat_key(platform, broadcaster_id)}"


def job_id(platform: str, broadcaster_id: str, run: int) -> str:
    return f"{JOB}:{chat_key(platform, broadcaster_id)}:{run}"


def compose(lines: Iterable[ReplyLine], limit: int = MAX_CHAT_MESSAGE_LENGTH) -> list[ReplyLine]:
    """Lines as chat messages: the bet confirmations together ("@a 500 on Yes, @b 200 on No
    ✓", split where it would pass ``limit``) where the first of them was, the other lines in
    their order around them, joined while they fit. A message is as old as its oldest line."""
    lines = list(lines)
    bets = [line for line in lines if line.kind == "bet"]
    segments: list[ReplyLine] = []
    for line in lines:
        if line.kind != "bet":
            segments.append(_clip(line, limit))
        elif line is bets[0]:
            segments += _pack(bets, BET_SEPARATOR, limit - len(BETS_DONE), suffix=BETS_DONE)
    return _pack(segments, SEGMENT_SEPARATOR, limit)


def _pack(lines: list[ReplyLine], separator: str, limit: int, suffix: str = "") -> list[ReplyLine]:
    packed: list[ReplyLine] = []
    texts: list[str] = []
    oldest = 0.0
    for line in lines:
        text = line.text[:limit]
        if texts and len(separator.join([*texts, text])) > limit:
            packed.append(ReplyLine(kind="text", text=separator.join(texts) + suffix, at=oldest))
            texts = []
        oldest = min(oldest, line.at) if texts else line.at
        texts.append(text)
    if texts:
        packed.append(ReplyLine(kind="text", text=separator.join(texts) + suffix, at=oldest))
    return packed


def _clip(line: ReplyLine, limit: int) -> ReplyLine:
    if len(line.text) <= limit:
        return line
    return ReplyLine(kind=line.kind, text=line.text[: limit - 1] + "…", at=line.at)


@dataclass(slots=True)
class _Bot:
    """The chat bot replies are sent as; ``token`` follows its refreshes."""

    account_id: int
    platform_user_id: str
    token: str


class ReplyOutbox:
    async def queue(
        self, resources: Resources, platform: str, broadcaster_id: str, lines: list[ReplyLine]
    ) -> None:
        """Add lines to a chat's outbox and make sure a flush is scheduled for this window
        (call after commit: a rolled-back command says nothing)."""
        if not lines:
            return
        redis = resources.redis
        key = pending_key(platform, broadcaster_id)
        async with redis.pipeline(transaction=True) as pipe:
            pipe.rpush(key, *[_encoder.encode(line).decode() for line in lines])
            pipe.expire(key, RUN_KEY_SECONDS)
            pipe.sadd(CHATS, chat_key(platform, broadcaster_id))
            await pipe.execute()
        await self.schedule(resources, platform, broadcaster_id, time.time())

    async def schedule(
        self, resources: Resources, platform: str, broadcaster_id: str, at: float
    ) -> None:
        """A flush at the end of the coalescing window ``at`` falls in (one job per window)."""
        window = resources.settings.chat_reply_coalesce_ms / 1000
        run = int(at // window)
        defer = max(0.0, (run + 1) * window - time.time())
        await resources.jobs.enqueue_job(
            JOB,
            platform,
            broadcaster_id,
            run,
            _job_id=job_id(platform, broadcaster_id, run),
            _defer_by=defer,
        )

    async def send(self, resources: Resources, platform: str, broadcaster_id: str, run: int) -> int:
        """Flush a chat's outbox (the job): returns the messages sent. Never raises for a
        platform's failure; safe to run twice (see the module's docstring)."""
        redis = resources.redis
        pending = pending_key(platform, broadcaster_id)
        taking, inflight, sending = (
            f"{pending}:{part}:{run}" for part in ("taking", "inflight", "sending")
        )
        if (unsure := await redis.get(sending)) is not None:
            log.warning(
                "a chat reply may not have gone out; not sending it again",
                extra={"chat": chat_key(platform, broadcaster_id), "reply": unsure},
            )
            await redis.delete(sending)
        await redis.eval(_TAKE, 3, pending, taking, inflight, str(RUN_KEY_SECONDS))  # type: ignore[misc]
        if taken := await redis.lrange(taking, 0, -1):  # type: ignore[misc]
            limit = MAX_YOUTUBE_CHAT_LENGTH if platform == "youtube" else MAX_CHAT_MESSAGE_LENGTH
            messages = compose(self._fresh(resources, platform, broadcaster_id, taken), limit)
            async with redis.pipeline(transaction=True) as pipe:
                pipe.delete(taking)
                if messages:
                    pipe.rpush(inflight, *[_encoder.encode(m).decode() for m in messages])
                    pipe.expire(inflight, RUN_KEY_SECONDS)
                await pipe.execute()
        if not await redis.exists(inflight):
            return 0
        sender = await self._sender(resources, platform)
        if sender is None:
            dropped = await redis.llen(inflight)  # type: ignore[misc]
            await redis.delete(inflight)
            log.info(
                "chat replies dropped: no chat bot",
                extra={"chat": chat_key(platform, broadcaster_id), "messages": dropped},
            )
            return 0
        bot_user_id = sender.platform_user_id
        settings = resources.settings
        # No retries of a send: a message the platform may have posted is never posted twice.
        clients = clients_for(Platform(platform), settings, max_retries=0)
        assert clients is not None  # _sender checked that the platform is configured
        # YouTube's chat is the live broadcast's, written within the shared quota.
        chat_api = (
            YouTubeChat(clients.api, settings, redis)
            if isinstance(clients.api, YouTubeApi)
            else clients.api
        )
        assert isinstance(chat_api, ChatSender)
        refresh = self._refresher(resources, clients, sender)
        sent = 0
        try:
            while True:
                raw = await redis.eval(_NEXT, 2, inflight, sending, str(RUN_KEY_SECONDS))  # type: ignore[misc]
                if raw is None:
                    break
                message = _decoder.decode(raw)
                retry_at = await self._send_one(
                    resources,
                    chat_api,
                    sender.token,
                    bot_user_id,
                    platform,
                    broadcaster_id,
                    message,
                    refresh,
                )
                if retry_at is not None:
                    await redis.eval(_PUT_BACK, 3, sending, inflight, pending)  # type: ignore[misc]
                    await self.schedule(resources, platform, broadcaster_id, retry_at)
                    return sent
                await redis.delete(sending)
                sent += 1
        finally:
            await clients.aclose()
        if await redis.exists(pending):  # queued while this run was busy
            await self.schedule(resources, platform, broadcaster_id, time.time())
        return sent

    async def _send_one(
        self,
        resources: Resources,
        chat_api: ChatSender,
        token: str,
        bot_user_id: str,
        platform: str,
        broadcaster_id: str,
        message: ReplyLine,
        refresh: RefreshToken,
    ) -> float | None:
        """Send one message; the time to try again when it must wait (None: done with it)."""
        chat = chat_key(platform, broadcaster_id)
        settings = resources.settings
        try:
            await ratelimit.hit(
                resources.redis,
                f"chat_replies:{chat}",
                settings.chat_replies_per_window,
                settings.chat_reply_window_seconds,
            )
        except RateLimited as limited:
            return time.time() + limited.retry_after
        try:
            result = await chat_api.send_chat_message(
                token,
                broadcaster_id=broadcaster_id,
                sender_id=bot_user_id,
                message=message.text,
                refresh=refresh,
            )
        except PlatformRateLimited as error:
            log.info("the platform rate-limited a chat reply; later", extra={"chat": chat})
            return max(error.reset_at, time.time() + 1)
        except Unauthorized as error:
            log.warning("the chat bot's token was refused: %s", error, extra={"chat": chat})
            return time.time() + TOKEN_RETRY_SECONDS
        except (ApiError, InvalidChatMessage) as error:
            # Perhaps posted before it failed: never sent twice, so not sent again.
            log.warning(
                "a chat reply failed and is not retried: %r",
                error,
                extra={"chat": chat, "reply": message.text},
            )
            return None
        if not result.is_sent:
            log.info(
                "the platform dropped a chat reply: %s",
                result.drop_reason_code,
                extra={"chat": chat, "reply": message.text},
            )
        return None

    def _fresh(
        self, resources: Resources, platform: str, broadcaster_id: str, raw: list[str]
    ) -> list[ReplyLine]:
        oldest = time.time() - resources.settings.chat_reply_max_age_seconds
        lines = [_decoder.decode(item) for item in raw]
        fresh = [line for line in lines if line.at >= oldest]
        if len(fresh) < len(lines):
            log.warning(
                "chat replies dropped: too old to send",
                extra={
                    "chat": chat_key(platform, broadcaster_id),
                    "lines": len(lines) - len(fresh),
                },
            )
        return fresh

    def _refresher(self, resources: Resources, clients: AnyClients, sender: _Bot) -> RefreshToken:
        """What the API client calls once when the platform refuses the bot's token: a refresh
        now (one process, under the token's row lock), its new token kept for the next
        messages; ``TokenRevoked`` when the grant is gone (marked ``needs_relink``)."""

        async def refresh() -> str:
            async with unit_of_work(resources) as session:
                fresh = await platform_token_service.refresh_refused(
                    session,
                    resources.settings,
                    sender.account_id,
                    TokenPurpose.bot,
                    sender.token,
                    oauth_refresher(clients),
                )
            if fresh is None:
                raise TokenRevoked("the chat bot's grant needs a relink", status=401)
            sender.token = fresh
            return fresh

        return refresh

    async def _sender(self, resources: Resources, platform: str) -> "_Bot | None":
        """The bot's platform account and token, None when replies cannot go out."""
        known = platform in {member.value for member in Platform}
        clients = clients_for(Platform(platform), resources.settings) if known else None
        if clients is None:
            await self._note_once(
                resources, platform, f"no chat replies: {platform} is not configured"
            )
            return None
        await clients.aclose()
        async with unit_of_work(resources) as session:
            bot = await platform_token_service.bot(session, resources.settings, Platform(platform))
        if bot is None:
            await self._note_once(resources, platform, "no chat replies: no chat bot is linked")
            return None
        account, token = bot
        return _Bot(account.id, account.platform_user_id, token)

    async def _note_once(self, resources: Resources, platform: str, message: str) -> None:
        """Log at info once an hour across processes (not once per reply)."""
        if await resources.redis.set(f"command:replies:noted:{platform}", 1, nx=True, ex=3600):
            log.info(message, extra={"platform": platform})

    async def sweep(self, resources: Resources) -> int:
        """Schedule a flush for every chat whose outbox still holds lines (a lost job)."""
        redis = resources.redis
        scheduled = 0
        for chat in await redis.smembers(CHATS):  # type: ignore[misc]
            platform, _, broadcaster_id = str(chat).partition(":")
            if await redis.exists(pending_key(platform, broadcaster_id)):
                await self.schedule(resources, platform, broadcaster_id, time.time())
                scheduled += 1
            else:
                await redis.srem(CHATS, chat)  # type: ignore[misc]
        return scheduled


reply_outbox = ReplyOutbox()
