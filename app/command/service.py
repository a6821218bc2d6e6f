"""Chat commands: what a chatter types in a linked platform chat (``!bet 2 500``, ``!lock``),
carried out through the same services as REST and Socket.IO (``pool_betting.place_bet``, the
pool lifecycle, templates), in the unit of work of the platform event that brought it.

The rules this adds, and why:

- **Once per message.** Each command is recorded under its platform message id before it acts
  (``chat_commands``, unique): any delivery of the same message after the first, whatever its
  EventSub message id, does nothing, and says nothing. A chat bet's idempotency key is
  ``<platform>:chat:<message id>`` as well, so the ledger refuses a second debit regardless.
- **Which pool.** A command naming no pool (``#<id>``) means the channel's most recently opened
  pool that it can act on: ``!bet`` and ``!lock`` the newest open one, ``!resolve`` the newest
  locked one, ``!cancel`` the newest open or locked one, ``!pool`` the newest open or locked
  one. Streams run one pool at a time; when two are open, the newest is the one chat just
  saw announced, and the reply names the pool it acted on.
- **Points only.** Chat never moves cash: a cash pool's ``!bet`` is refused with a pointer to
  the website, whoever the chatter is. A chat message proves a platform identity, not who is
  at the keyboard of a signed-in, age-confirmed account; the site's checks (age, limits,
  self-exclusion) belong to a session there. Chat-only accounts never reach cash anyway (the
  betting service refuses them: no date of birth).
- **Who runs pools from chat.** The chatter's own account, when its platform identity is
  linked to a full account that is the channel's owner or one of its moderators: they act as
  themselves (staff checks, conflict of interest and audit as over REST). The broadcaster of
  the linked platform channel (their platform user id is the channel's) acts as the channel's
  owner, who made the verified link. A platform moderator (by badge) who is not staff here may
  run pools only where the channel allows it (``twitch_moderators_run_pools``); they act as
  automation for the channel (no actor; ``chat_commands`` records their platform identity),
  and the conflict-of-interest rule is checked against their own account if they have one
  (a position they hold, e.g. from a chat bet, keeps them from resolving). Everyone else is
  refused.
- **Replies** go to the chat's outbox (``app.command.replies``) after commit, coalesced. A
  refusal is told to a chatter at most once per ``chat_hint_chatter_seconds``; a usage hint for
  a mistyped command also at most once per ``chat_hint_channel_seconds`` in a channel; ``!pool``
  answers at most once per ``chat_hint_channel_seconds`` in a channel. Silence otherwise, never
  a flood."""

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.tokens import Principal
from app.channel.errors import NotChannelStaff
from app.channel.permissions import is_staff
from app.command import parser, schemas
from app.command.errors import CashNotInChat, NoPool, NoSuchTemplate
from app.command.replies import reply_outbox
from app.command.repository import command_repository
from app.kit.currency import is_cash, points
from app.kit.effects import call_after_commit
from app.kit.errors import AppError
from app.kit.resources import Resources
from app.ledger.service import ledger_service
from app.models.channel import Channel, Platform
from app.models.pool import Pool, PoolStatus
from app.platform.repository import platform_repository
from app.platform.service import platform_identity_service
from app.pool import schemas as pool_schemas
from app.pool.betting import pool_betting
from app.pool.errors import PoolNotFound, StakeOutOfRange, UnknownOutcome
from app.pool.lifecycle import pool_lifecycle
from app.pool.repository import pool_repository
from app.pool.templates import pool_templates
from app.pool.views import pool_views
from app.user.repository import user_repository
from integrations.events import PlatformActor, PlatformEvent

log = logging.getLogger(__name__)

BPS = 10_000
OPEN = (PoolStatus.open,)
LOCKED = (PoolStatus.locked,)
LIVE = (PoolStatus.open, PoolStatus.locked)

#: Winners named in a chat's result message (the biggest payouts first).
ANNOUNCED_WINNERS = 5
#: The pool moves told in every linked chat (``announce_pool``), each while the pool is still
#: where the move left it, and how long the record that one was told is kept.
ANNOUNCED_STATUS = {"pool:opened": PoolStatus.open, "pool:locked": PoolStatus.locked}
ANNOUNCED_KEY_SECONDS = 7 * 24 * 3600

#: Short words for refusals in chat (the API's messages are written for a screen).
REFUSALS = {
    "insufficient_funds": "not enough points",
    "pool_not_open": "betting is closed",
    "unknown_outcome": "no such outcome (!pool lists them)",
    "outcome_already_chosen": "you already bet on another outcome in this pool",
    "forbidden": "only the broadcaster and moderators can do that",
    "not_channel_staff": "only the broadcaster and moderators can do that",
    "conflict_of_interest": "you hold a position in this pool: someone else must decide it",
    "cash_not_in_chat": "cash pools take bets on the website only",
    "pool_not_found": "no such pool",
    "template_not_found": "no template has that name",
    "wallet_frozen": "your wallet is frozen",
}


def chat_bet_key(platform: str, message_id: str) -> str:
    """The idempotency key of a chat bet: the platform's message id, so a redelivered message
    never bets twice."""
    return f"{platform}:chat:{message_id}"


def mention(actor: PlatformActor) -> str:
    """How to name a chatter in chat: their display name when it is their login's spelling."""
    name = actor.display_name if actor.display_name.casefold() == actor.login else actor.login
    return f"@{name}"


def refusal(error: AppError) -> str:
    if isinstance(error, StakeOutOfRange):
        low, high = error.details["min_stake"], error.details["max_stake"]
        return (
            f"a stake in this pool is {low:,} to {high:,} (you have {error.details['position']:,})"
        )
    return REFUSALS.get(error.code, error.detail.rstrip("."))[:200]


def multiplier(bps: int | None) -> str:
    return "-" if bps is None else f"{bps / BPS:.2f}x"


@dataclass(slots=True)
class _Context:
    """One command being carried out: where, by whom, and what it touched (for its record)."""

    channel: Channel
    platform: Platform
    event: PlatformEvent
    author: PlatformActor
    user_id: int | None = None
    pool_id: int | None = None


class CommandService:
    async def handle(
        self, session: AsyncSession, resources: Resources, channel: Channel, event: PlatformEvent
    ) -> None:
        """Carry out the command in a chat message of ``channel``'s verified-linked platform
        chat, if it holds one of ours, in the caller's unit of work; its reply goes to the
        chat's outbox after commit. A refused command is not an error of the caller."""
        if event.author is None or event.message_id is None or not event.text:
            return
        command = parser.parse(event.text)
        if command is None:
            return
        context = _Context(channel, Platform(event.platform), event, event.author)
        if isinstance(command, schemas.Usage):
            await self._hint(session, resources, context, command)
            return
        claimed = await command_repository.claim(
            session,
            channel_id=channel.id,
            platform=context.platform,
            message_id=event.message_id,
            platform_user_id=context.author.user_id,
            login=context.author.login[:128],
            command=type(command).__name__.lower(),
            text=event.text[:500],
        )
        if claimed is None:
            return  # another delivery of this message: carried out (and answered) already
        if isinstance(command, schemas.Bet | schemas.Balance):
            # Outside the savepoint: the chatter's account stays, whatever the command gets.
            await self._chatter(session, resources, context)
        result = "ok"
        try:
            async with session.begin_nested():
                reply = await self._run(session, resources, context, command)
        except AppError as error:
            result = error.code
            reply = None
            if await self._may_tell(resources, context, chatter=True, channel=False):
                reply = schemas.ReplyLine(
                    kind="text", text=f"{mention(context.author)} {refusal(error)}", at=time.time()
                )
        await command_repository.finish(session, claimed, result, context.user_id, context.pool_id)
        if reply is not None:
            self._reply(session, resources, context, reply)

    async def announce_pool(
        self, session: AsyncSession, resources: Resources, pool_id: int, event: str
    ) -> int:
        """Tell the chats linked to a pool's channel that it opened (how to bet) or locked,
        whoever moved it (dashboard, REST, a chat command on any platform, automation). Told
        once per pool and move, and only while the pool is still where the move left it.
        Returns the chats told."""
        pool = await pool_repository.get(session, pool_id)
        expected = ANNOUNCED_STATUS.get(event)
        if pool is None or expected is None or pool.status is not expected:
            return 0
        chats = await command_repository.linked_chats(session, pool.channel_id)
        if not chats:
            return 0
        if not await resources.redis.set(
            f"command:announced:{pool.id}:{event}", 1, nx=True, ex=ANNOUNCED_KEY_SECONDS
        ):
            return 0  # a run of this job before, or one at the same time, told them
        if event == "pool:opened":
            outcomes = await pool_repository.outcomes(session, pool.id)
            labels = " ".join(f"{o.position}) {o.label}" for o in outcomes)
            if is_cash(pool.currency):
                channel = await session.get(Channel, pool.channel_id)
                assert channel is not None
                how = f"bet at {resources.settings.public_url}/c/{channel.slug}?pool={pool.id}"
            else:
                how = "!bet <number> <amount>"
            text = f"Pool #{pool.id} is open: {pool.title} {labels} — {how}"
        else:
            text = f"Pool #{pool.id} is locked: no more bets."
        line = schemas.ReplyLine(kind="text", text=text, at=time.time())
        for platform, broadcaster_id in chats:
            await reply_outbox.queue(resources, platform.value, broadcaster_id, [line])
        return len(chats)

    async def announce_result(
        self, session: AsyncSession, resources: Resources, pool_id: int
    ) -> int:
        """Tell the chats linked to a paid pool's channel how it ended: the winning outcome and
        its biggest winners, or that every stake went back. Returns the chats told."""
        pool = await pool_repository.get(session, pool_id)
        if pool is None or pool.status not in (PoolStatus.settled, PoolStatus.refunded):
            return 0
        chats = await command_repository.linked_chats(session, pool.channel_id)
        if not chats:
            return 0
        outcomes = [o for o in await pool_repository.bettor_outcomes(session, pool_id) if o.paid]
        labels = {o.id: o.label for o in await pool_repository.outcomes(session, pool_id)}
        # A viewer who bet from two platforms' chats, then joined both identities, is one winner.
        holders = await command_repository.holders(session, [o.user_id for o in outcomes])
        paid: dict[int, int] = {}
        for outcome in outcomes:
            holder = holders[outcome.user_id]
            paid[holder] = paid.get(holder, 0) + outcome.paid
        winners = sorted(paid.items(), key=lambda w: (-w[1], w[0]))[:ANNOUNCED_WINNERS]
        for platform, broadcaster_id in chats:
            names = await command_repository.names_in_chat(
                session, [user_id for user_id, _ in winners], platform
            )
            text = _result_text(pool, labels, [(names[user], amount) for user, amount in winners])
            line = schemas.ReplyLine(kind="text", text=text, at=time.time())
            call_after_commit(session, _queue(resources, platform, broadcaster_id, line))
        return len(chats)

    async def _run(
        self,
        session: AsyncSession,
        resources: Resources,
        context: _Context,
        command: schemas.Command,
    ) -> schemas.ReplyLine | None:
        match command:
            case schemas.Bet():
                return await self._bet(session, resources, context, command)
            case schemas.Balance():
                return await self._balance(session, resources, context)
            case schemas.ShowPool():
                return await self._show(session, resources, context, command)
        return await self._staff(session, resources, context, command)

    # -- viewers --------------------------------------------------------------------------------

    async def _bet(
        self, session: AsyncSession, resources: Resources, context: _Context, command: schemas.Bet
    ) -> schemas.ReplyLine:
        user_id = await self._chatter(session, resources, context)
        pool = await self._pool(session, context, command.pool_id, OPEN, "open")
        if is_cash(pool.currency):
            raise CashNotInChat()
        outcomes = await pool_repository.outcomes(session, pool.id)
        index = parser.match_outcome(command.outcome, [o.label for o in outcomes])
        if index is None:
            raise UnknownOutcome()
        outcome = outcomes[index]
        balance = await self._points(session, user_id, pool.currency)
        position = await pool_repository.position(session, pool.id, user_id)
        held = int(position.amount) if position is not None else 0
        amount = parser.stake_of(command.amount, balance, pool.max_stake - held)
        if amount < 1:
            raise StakeOutOfRange(pool.min_stake, pool.max_stake, held)
        assert context.event.message_id is not None
        await pool_betting.place_bet(
            session,
            resources,
            user_id,
            pool.id,
            pool_schemas.BetCreate(outcome_id=outcome.id, amount=amount),
            chat_bet_key(context.platform.value, context.event.message_id),
        )
        text = f"{mention(context.author)} {amount:,} on {outcome.label}"
        return schemas.ReplyLine(kind="bet", text=text, at=time.time())

    async def _balance(
        self, session: AsyncSession, resources: Resources, context: _Context
    ) -> schemas.ReplyLine | None:
        user_id = await self._chatter(session, resources, context)
        balance = await self._points(session, user_id, points(context.channel.id))
        if not await self._may_tell(
            resources, context, chatter=True, channel=False, kind="balance"
        ):
            return None
        text = f"{mention(context.author)} you have {balance:,} points"
        return schemas.ReplyLine(kind="text", text=text, at=time.time())

    async def _show(
        self,
        session: AsyncSession,
        resources: Resources,
        context: _Context,
        command: schemas.ShowPool,
    ) -> schemas.ReplyLine | None:
        pool = await self._pool(session, context, command.pool_id, LIVE, "open or locked")
        if not await self._may_tell(resources, context, chatter=False, channel=True, kind="pool"):
            return None
        view = await pool_views.view(session, resources.redis, pool.id, None)
        outcomes = " ".join(
            f"{o.position}) {o.label} {o.total:,} ({multiplier(o.multiplier_bps)})"
            for o in view.outcomes
        )
        how = "— !bet <number> <amount>" if view.status is PoolStatus.open else "— locked"
        text = f"Pool #{view.id}: {view.title} {outcomes} {how}"
        return schemas.ReplyLine(kind="text", text=text, at=time.time())

    async def _chatter(self, session: AsyncSession, resources: Resources, context: _Context) -> int:
        """The chatter's account (created as a chat-only one on first use, with the channel's
        sign-up grant)."""
        if context.user_id is not None:
            return context.user_id
        author = context.author
        user = await platform_identity_service.chatter(
            session,
            resources.settings,
            context.channel,
            context.platform,
            author.user_id,
            author.login,
            author.display_name,
        )
        context.user_id = user.id
        return user.id

    async def _points(self, session: AsyncSession, user_id: int, currency: str) -> int:
        return await ledger_service.balance(
            session, await ledger_service.wallet(session, user_id, currency)
        )

    # -- staff ----------------------------------------------------------------------------------

    async def _staff(
        self,
        session: AsyncSession,
        resources: Resources,
        context: _Context,
        command: schemas.Command,
    ) -> schemas.ReplyLine | None:
        """A staff command carried out. Opening and locking are told in every linked chat
        (``announce_pool``), this one included, so they need no reply of their own."""
        actor, holder = await self._actor(session, context)
        channel = context.channel
        match command:
            case schemas.OpenPool():
                template = await self._template(session, channel.id, command.template)
                view = await pool_templates.open_template(
                    session, resources, actor, channel.id, template
                )
                context.pool_id = view.id
                return None
            case schemas.LockPool():
                pool = await self._pool(session, context, command.pool_id, OPEN, "open")
                await pool_lifecycle.lock(session, resources, actor, pool.id)
                return None
            case schemas.ResolvePool():
                pool = await self._pool(session, context, command.pool_id, LOCKED, "locked")
                outcomes = await pool_repository.outcomes(session, pool.id)
                index = parser.match_outcome(command.outcome, [o.label for o in outcomes])
                if index is None:
                    raise UnknownOutcome()
                if actor is None and holder is not None:
                    await pool_lifecycle.refuse_conflict_of_interest(
                        session, pool.id, holder, "resolve"
                    )
                await pool_lifecycle.resolve(session, resources, actor, pool.id, outcomes[index].id)
                # Who won what follows once the pool is paid (announce_result).
                text = f"Pool #{pool.id} resolved: {outcomes[index].label}."
            case schemas.CancelPool():
                pool = await self._pool(session, context, command.pool_id, LIVE, "open or locked")
                if actor is None and holder is not None:
                    await pool_lifecycle.refuse_conflict_of_interest(
                        session, pool.id, holder, "cancel"
                    )
                await pool_lifecycle.cancel(session, resources, actor, pool.id)
                text = f"Pool #{pool.id} is cancelled."
            case _:
                raise AssertionError(f"not a staff command: {command!r}")
        return schemas.ReplyLine(kind="text", text=text, at=time.time())

    async def _actor(
        self, session: AsyncSession, context: _Context
    ) -> tuple[Principal | None, int | None]:
        """Who moves the pool (None: automation for the channel) and whose positions keep them
        from deciding it; refuses a chatter who may not (see the module's docstring)."""
        channel, author = context.channel, context.author
        account = await platform_repository.account(session, context.platform, author.user_id)
        user = await user_repository.get(session, account.user_id) if account else None
        if user is not None:
            context.user_id = user.id
        if user is not None and not user.chat_only and await is_staff(session, channel, user.id):
            return Principal(user_id=user.id, role=user.role), user.id
        if author.user_id == context.event.channel_id:
            owner = await user_repository.get(session, channel.owner_id)
            assert owner is not None
            return Principal(user_id=owner.id, role=owner.role), owner.id
        moderator = "moderator" in author.roles
        if (
            moderator
            and context.platform is Platform.twitch
            and channel.twitch_moderators_run_pools
        ):
            return None, user.id if user is not None else None
        raise NotChannelStaff()

    async def _template(self, session: AsyncSession, channel_id: int, name: str) -> int:
        wanted = name.strip().casefold()
        for template in await pool_repository.templates(session, channel_id):
            if template.name.casefold() == wanted:
                return template.id
        raise NoSuchTemplate()

    # -- shared ---------------------------------------------------------------------------------

    async def _pool(
        self,
        session: AsyncSession,
        context: _Context,
        pool_id: int | None,
        statuses: tuple[PoolStatus, ...],
        what: str,
    ) -> Pool:
        """The pool named (``#<id>``, of this channel and published), else the channel's most
        recently opened one in ``statuses``."""
        if pool_id is not None:
            pool = await pool_repository.get(session, pool_id)
            if pool is None or pool.channel_id != context.channel.id or pool.opened_at is None:
                raise PoolNotFound()
        else:
            pool = await command_repository.latest_pool(session, context.channel.id, statuses)
            if pool is None:
                raise NoPool(what)
        context.pool_id = pool.id
        return pool

    async def _hint(
        self,
        session: AsyncSession,
        resources: Resources,
        context: _Context,
        usage: schemas.Usage,
    ) -> None:
        if not await self._may_tell(resources, context, chatter=True, channel=True, kind="hint"):
            return
        text = f"{mention(context.author)} try {parser.USAGE[usage.command]}"
        self._reply(
            session, resources, context, schemas.ReplyLine(kind="text", text=text, at=time.time())
        )

    async def _may_tell(
        self,
        resources: Resources,
        context: _Context,
        *,
        chatter: bool,
        channel: bool,
        kind: str = "refusal",
    ) -> bool:
        """Whether an answer of this kind may go to the chatter (and the channel) now: each
        earns one answer per window (a Redis key set if absent, expiring with the window)."""
        settings, redis = resources.settings, resources.redis
        where = f"{context.platform.value}:{context.event.channel_id}"
        try:
            if chatter and not await redis.set(
                f"command:told:{where}:{context.author.user_id}:{kind}",
                1,
                nx=True,
                ex=settings.chat_hint_chatter_seconds,
            ):
                return False
            return not channel or bool(
                await redis.set(
                    f"command:told:{where}:{kind}",
                    1,
                    nx=True,
                    ex=settings.chat_hint_channel_seconds,
                )
            )
        except RedisError:
            # A reply is never worth failing the command's unit of work: say nothing.
            log.warning("chat reply limits unavailable; not answering", exc_info=True)
            return False

    def _reply(
        self,
        session: AsyncSession,
        resources: Resources,
        context: _Context,
        line: schemas.ReplyLine,
    ) -> None:
        platform, broadcaster = context.platform.value, context.event.channel_id
        call_after_commit(
            session, lambda: reply_outbox.queue(resources, platform, broadcaster, [line])
        )


def _queue(
    resources: Resources, platform: Platform, broadcaster_id: str, line: schemas.ReplyLine
) -> Callable[[], Awaitable[None]]:
    async def queue() -> None:
        await reply_outbox.queue(resources, platform.value, broadcaster_id, [line])

    return queue


def _result_text(pool: Pool, labels: dict[int, str], winners: list[tuple[str, int]]) -> str:
    if pool.status is PoolStatus.refunded or pool.winning_outcome_id is None:
        return f"Pool #{pool.id} ({pool.title}): every stake went back."
    won = labels.get(pool.winning_outcome_id, "?")
    if not winners:
        return f"Pool #{pool.id} ({pool.title}): {won} won. Nobody had bet on it."
    paid = ", ".join(f"@{name} +{amount:,}" for name, amount in winners)
    return f"Pool #{pool.id} ({pool.title}): {won} won! Winners: {paid}"


command_service = CommandService()
