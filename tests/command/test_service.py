"""Chat commands end to end: signed ``channel.chat.message`` deliveries to /webhooks/twitch,
handled by the inbox job, acting through the pool services, answered by the bot through the
fake Twitch (coalesced, rate-limited, once)."""

import asyncio
from typing import Literal

import pytest
from sqlalchemy import delete, func, select

from app.command.service import command_service
from app.kit.currency import points
from app.kit.errors import AppError
from app.kit.uow import unit_of_work
from app.ledger.service import ledger_service
from app.models.channel import Channel, Platform
from app.models.command import ChatCommand
from app.models.platform import PlatformAccount, PlatformToken, TokenPurpose, TokenStatus
from app.models.pool import Bet, Pool, PoolOutcome, PoolStatus, PoolTemplate, PoolTransition
from app.models.user import User
from app.platform.tokens import platform_token_service
from app.pool.betting import pool_betting
from app.pool.lifecycle import pool_lifecycle
from app.pool.schemas import BetCreate
from app.settings import Settings
from tests.command.conftest import BROADCASTER, COALESCE_MS, Chatter, Stream
from tests.factories import (
    add_moderator,
    create_platform_account,
    create_pool,
    create_user,
    fund_wallet,
)

SIGNUP = Settings().points_signup_grant


async def _pool(
    stream: Stream,
    *,
    currency: Literal["points", "cash"] = "points",
    outcomes: tuple[str, ...] = ("Yes", "No"),
    max_stake: int = 1_000_000,
    announced: bool = True,
) -> int:
    """A pool opened in the channel (as from the dashboard), and its announcement in chat (if
    the channel has a bot), which is taken out of what the bot said for the test to look at."""
    said_before = len(await stream.replies())  # what waits goes out on its own
    async with unit_of_work(stream.resources) as session:
        channel = await session.get(Channel, stream.channel_id)
        assert channel is not None
        if currency == "cash":
            channel.cash_enabled = True
        pool = await create_pool(
            session,
            stream.resources,
            channel,
            outcomes=outcomes,
            currency=currency,
            min_stake=10,
            max_stake=max_stake,
        )
    # What opening queued (the members' notifications, the announcement in chat) runs before
    # anyone chats: the chat jobs of a test then run side by side with nothing else, in the
    # order they came.
    await stream.run_jobs()
    said = (await stream.replies())[said_before:]
    if announced:
        how = "bet at http" if currency == "cash" else "!bet <number> <amount>"
        [line] = said
        assert line.startswith(f"Pool #{pool.id} is open: Test pool 1) ") and how in line, line
    else:
        assert said == []
    del stream.twitch.chat_messages[said_before:]
    return pool.id


async def _bets(stream: Stream, pool_id: int) -> dict[str, tuple[int, int]]:
    """Positions by the bettor's platform login: (outcome position, amount)."""
    async with unit_of_work(stream.resources) as session:
        rows = await session.execute(
            select(PlatformAccount.login, PoolOutcome.position, Bet.amount)
            .join(PlatformAccount, PlatformAccount.user_id == Bet.user_id)
            .join(PoolOutcome, PoolOutcome.id == Bet.outcome_id)
            .where(Bet.pool_id == pool_id)
        )
        return {login: (int(position), int(amount)) for login, position, amount in rows}


async def _balance(stream: Stream, login: str) -> int:
    async with unit_of_work(stream.resources) as session:
        user_id = await session.scalar(
            select(PlatformAccount.user_id).where(PlatformAccount.login == login)
        )
        assert user_id is not None
        wallet = await ledger_service.wallet(session, user_id, points(stream.channel_id))
        return await ledger_service.balance(session, wallet)


async def _user_id(stream: Stream, login: str) -> int:
    async with unit_of_work(stream.resources) as session:
        user_id = await session.scalar(
            select(PlatformAccount.user_id).where(PlatformAccount.login == login)
        )
    assert user_id is not None
    return int(user_id)


async def _status(stream: Stream, pool_id: int) -> PoolStatus:
    async with unit_of_work(stream.resources) as session:
        pool = await session.get(Pool, pool_id)
        assert pool is not None
        return pool.status


async def _allow_twitch_moderators(stream: Stream) -> None:
    async with unit_of_work(stream.resources) as session:
        channel = await session.get(Channel, stream.channel_id)
        assert channel is not None
        channel.twitch_moderators_run_pools = True


async def _said(stream: Stream) -> list[str]:
    """Everything the bot said, line by line, however the lines were grouped in messages."""
    return " · ".join(await stream.replies()).split(" · ")


# -- viewers ------------------------------------------------------------------------------------


async def test_a_new_chatter_bets_by_number_and_label_from_their_sign_up_grant(
    stream: Stream,
) -> None:
    pool_id = await _pool(stream)
    await stream.say("!bet 1 300", chatter="701", login="ana")
    await stream.say("  !BET   yes   200 ", chatter="701", login="ana")
    await stream.handle()

    assert await _bets(stream, pool_id) == {"ana": (1, 500)}
    assert await _balance(stream, "ana") == SIGNUP - 500
    async with unit_of_work(stream.resources) as session:
        users = await session.scalar(select(func.count()).select_from(User).where(User.chat_only))
    assert users == 1  # created once, joined once (one sign-up grant)
    [reply] = await stream.replies()
    # Handled by concurrent jobs: in either order, in one message.
    assert sorted(reply.removesuffix(" ✓").split(", ")) == ["@Ana 200 on Yes", "@Ana 300 on Yes"]


async def test_all_and_percent_stake_from_the_balance(stream: Stream) -> None:
    pool_id = await _pool(stream, max_stake=700)
    await stream.say("!bet 2 25%", chatter="702", login="bo")
    await stream.say("!bet no all", chatter="703", login="cy")
    await stream.handle()
    assert await _bets(stream, pool_id) == {"bo": (2, SIGNUP // 4), "cy": (2, 700)}


async def test_a_redelivered_chat_message_never_bets_twice(stream: Stream) -> None:
    pool_id = await _pool(stream)
    message_id = await stream.say("!bet 1 all", chatter="704", login="di")
    # Twitch resends it as a new delivery (another EventSub message id), and a copy arrives
    # while the first is still waiting for its job.
    await stream.say("!bet 1 all", chatter="704", login="di", message_id=message_id)
    await stream.handle()
    await stream.say("!bet 1 all", chatter="704", login="di", message_id=message_id)
    await stream.handle()

    assert await _bets(stream, pool_id) == {"di": (1, SIGNUP)}
    assert await _balance(stream, "di") == 0
    assert await stream.replies() == [f"@Di {SIGNUP:,} on Yes ✓"]


async def test_five_bets_in_a_window_get_one_reply_naming_every_bettor(stream: Stream) -> None:
    await _pool(stream)
    for n, (outcome, amount) in enumerate([(1, 500), (2, 200), (1, 10), (2, 999), (1, 42)]):
        await stream.say(f"!bet {outcome} {amount}", chatter=f"80{n}", login=f"viewer{n}")
    await stream.handle()

    replies = await stream.replies()
    assert len(replies) == 1 and replies[0].endswith(" ✓")
    # Chat messages are handled by concurrent jobs: in any order, but all in one message.
    assert sorted(replies[0].removesuffix(" ✓").split(", ")) == [
        "@Viewer0 500 on Yes",
        "@Viewer1 200 on No",
        "@Viewer2 10 on Yes",
        "@Viewer3 999 on No",
        "@Viewer4 42 on Yes",
    ]
    message = stream.twitch.chat_messages[0]
    assert (message["broadcaster_id"], message["sender_id"]) == (BROADCASTER, "990001")


async def test_balance_and_pool_are_answered(stream: Stream) -> None:
    pool_id = await _pool(stream)
    await stream.say("!bet 1 300", chatter="705", login="ed")
    await stream.say("!bet 2 100", chatter="706", login="flo")
    await stream.handle()
    await stream.say("!balance", chatter="705", login="ed")
    await stream.say("!pool")
    await stream.handle()

    said = set(await _said(stream))
    # The two bets are handled by concurrent jobs: named in either order, in one message.
    bets = {"@Ed 300 on Yes, @Flo 100 on No ✓", "@Flo 100 on No, @Ed 300 on Yes ✓"} & said
    assert len(bets) == 1
    assert said - bets == {
        f"@Ed you have {SIGNUP - 300:,} points",
        f"Pool #{pool_id}: Test pool 1) Yes 300 (1.33x) 2) No 100 (4.00x) — !bet <number> <amount>",
    }


async def test_refusals_are_told_briefly_and_nothing_moves(stream: Stream) -> None:
    await stream.say("!bet 1 100", chatter="707", login="gus")  # no pool yet
    await stream.handle()
    pool_id = await _pool(stream)
    await stream.say("!bet maybe 100", chatter="708", login="hal")
    await stream.say("!bet 1 5000", chatter="709", login="ivy")
    await stream.handle()

    assert await _bets(stream, pool_id) == {}
    assert sorted(await _said(stream)) == [
        "@Gus No open pool right now",
        "@Hal no such outcome (!pool lists them)",
        "@Ivy not enough points",
    ]
    async with unit_of_work(stream.resources) as session:
        results = (await session.scalars(select(ChatCommand.result).order_by(ChatCommand.id))).all()
    assert sorted(results) == ["insufficient_funds", "no_pool", "unknown_outcome"]


async def test_a_pools_opening_and_locking_are_announced_once_and_only_while_true(
    stream: Stream,
) -> None:
    pool_id = await _pool(stream)  # opened (as from the dashboard): announced, as _pool checks
    async with unit_of_work(stream.resources) as session:  # the job again: told already
        assert (
            await command_service.announce_pool(session, stream.resources, pool_id, "pool:opened")
            == 0
        )
    async with unit_of_work(stream.resources) as session:
        await pool_lifecycle.lock(session, stream.resources, None, pool_id)  # the timer
    await stream.run_jobs()
    async with unit_of_work(stream.resources) as session:  # run twice: told once
        await command_service.announce_pool(session, stream.resources, pool_id, "pool:locked")
    assert await _said(stream) == [f"Pool #{pool_id} is locked: no more bets."]

    # A pool locked before its opening's announcement ran is not said to be open.
    async with unit_of_work(stream.resources) as session:
        channel = await session.get_one(Channel, stream.channel_id)
        other = (await create_pool(session, stream.resources, channel)).id
    async with unit_of_work(stream.resources) as session:
        await pool_lifecycle.lock(session, stream.resources, None, other)
    await stream.run_jobs()
    assert (await _said(stream))[-1] == f"Pool #{other} is locked: no more bets."
    assert not any(f"Pool #{other} is open" in line for line in await _said(stream))


async def test_cash_is_never_staked_from_chat(stream: Stream, settings: Settings) -> None:
    pool_id = await _pool(stream, currency="cash")
    # Even a full, signed-up account's Twitch identity.
    async with unit_of_work(stream.resources) as session:
        player = await create_user(session, settings, display_name="Player")
        await create_platform_account(session, player.id, platform_user_id="710", login="jo")
    await stream.say("!bet 1 100", chatter="710", login="jo")
    await stream.say("!bet 1 100", chatter="711", login="kim")  # chat-only
    await stream.handle()

    assert await _bets(stream, pool_id) == {}
    # One message; the two commands ran in concurrent jobs: either order.
    [reply] = await stream.replies()
    assert sorted(reply.split(" · ")) == [
        "@Jo cash pools take bets on the website only",
        "@Kim cash pools take bets on the website only",
    ]


async def test_a_chat_only_account_never_reaches_cash_whatever_path_it_takes(
    stream: Stream,
) -> None:
    pool_id = await _pool(stream, currency="cash")
    await stream.say("!balance", chatter="715", login="lia")  # becomes a chat-only viewer
    await stream.handle()
    async with unit_of_work(stream.resources) as session:
        outcome_id = await session.scalar(
            select(PoolOutcome.id).where(PoolOutcome.pool_id == pool_id, PoolOutcome.position == 1)
        )
        lia = await _user_id(stream, "lia")
        await fund_wallet(session, lia, 10_000, "cash:USD")  # money is not what stops it
    assert outcome_id is not None
    with pytest.raises(AppError) as refused:  # the betting service itself, as REST would
        async with unit_of_work(stream.resources) as session:
            await pool_betting.place_bet(
                session,
                stream.resources,
                lia,
                pool_id,
                BetCreate(outcome_id=outcome_id, amount=100),
                "direct-cash-attempt",
            )
    assert refused.value.code == "age_not_confirmed"
    assert await _bets(stream, pool_id) == {}


async def test_a_mistyped_command_gets_one_hint_not_a_flood(stream: Stream) -> None:
    for _ in range(3):
        await stream.say("!bett 1 100", chatter="712", login="lu")
    await stream.say("!balanse", chatter="713", login="max")  # same channel, within its window
    await stream.say("!lurk", chatter="714", login="ned")  # another bot's command
    await stream.say("just chatting", chatter="714", login="ned")
    await stream.handle()

    assert await stream.replies() == ["@Lu try !bet <outcome number or name> <amount, all or N%>"]


# -- staff --------------------------------------------------------------------------------------


async def test_the_broadcaster_runs_a_pool_from_chat(stream: Stream) -> None:
    async with unit_of_work(stream.resources) as session:
        session.add(
            PoolTemplate(
                channel_id=stream.channel_id,
                name="Boss fight",
                title="Beat the boss first try?",
                outcomes=["Yes", "No"],
                currency_kind="points",
                window_seconds=600,
                min_stake=1,
                max_stake=10_000,
            )
        )
    broadcaster = Chatter(chatter=BROADCASTER, login="streamer", badges=("broadcaster",))
    await stream.say("!open boss FIGHT", **broadcaster)
    await stream.handle()
    async with unit_of_work(stream.resources) as session:
        pool_id = await session.scalar(select(Pool.id).where(Pool.channel_id == stream.channel_id))
    assert pool_id is not None
    await stream.say("!bet 1 400", chatter="720", login="ola")
    await stream.say("!bet 2 600", chatter="721", login="pia")
    await stream.handle()
    await stream.say("!lock", **broadcaster)
    await stream.handle()
    await stream.say("!resolve yes", **broadcaster)
    await stream.handle()
    await stream.handle()  # settlement

    assert await _status(stream, pool_id) is PoolStatus.settled
    assert await _balance(stream, "ola") == SIGNUP + 600
    assert await _balance(stream, "pia") == SIGNUP - 600
    async with unit_of_work(stream.resources) as session:
        actors = (
            await session.scalars(
                select(PoolTransition.actor_id).where(
                    PoolTransition.pool_id == pool_id, PoolTransition.to_status != "settled"
                )
            )
        ).all()
    assert set(actors) == {stream.owner_id}  # the channel's owner, as over REST
    said = await _said(stream)
    assert said[0] == (
        f"Pool #{pool_id} is open: Beat the boss first try? 1) Yes 2) No — !bet <number> <amount>"
    )
    assert said[-3:] == [
        f"Pool #{pool_id} is locked: no more bets.",
        f"Pool #{pool_id} resolved: Yes.",
        f"Pool #{pool_id} (Beat the boss first try?): Yes won! Winners: @Ola +1,000",
    ]


async def test_twitch_moderators_run_pools_only_where_the_channel_allows_it(
    stream: Stream,
) -> None:
    pool_id = await _pool(stream)
    moderator = Chatter(chatter="730", login="quinn", badges=("moderator",))
    await stream.say("!lock", **moderator)
    await stream.handle()
    assert await _status(stream, pool_id) is PoolStatus.open
    await stream.say("!lock", chatter="731", login="rae")  # no badge
    await stream.handle()
    assert await _status(stream, pool_id) is PoolStatus.open

    await _allow_twitch_moderators(stream)
    await stream.say("!lock", **moderator)
    await stream.say("!lock", **moderator)  # a second one: nothing to lock
    await stream.handle()
    assert await _status(stream, pool_id) is PoolStatus.locked
    async with unit_of_work(stream.resources) as session:
        lock = await session.scalar(
            select(PoolTransition).where(
                PoolTransition.pool_id == pool_id, PoolTransition.to_status == "locked"
            )
        )
        record = await session.scalar(
            select(ChatCommand).where(ChatCommand.login == "quinn", ChatCommand.result == "ok")
        )
    assert lock is not None and (lock.actor_id, lock.actor_kind) == (None, "automation")
    assert record is not None and (record.platform_user_id, record.pool_id) == ("730", pool_id)
    assert await _said(stream) == [
        "@Quinn only the broadcaster and moderators can do that",
        "@Rae only the broadcaster and moderators can do that",
        f"Pool #{pool_id} is locked: no more bets.",
    ]


async def test_our_own_moderators_run_pools_by_their_linked_twitch_identity(
    stream: Stream, settings: Settings
) -> None:
    pool_id = await _pool(stream)
    async with unit_of_work(stream.resources) as session:
        moderator = await create_user(session, settings, display_name="Mod")
        await add_moderator(session, stream.channel_id, moderator.id, stream.owner_id)
        await create_platform_account(session, moderator.id, platform_user_id="740", login="sol")
    await stream.say("!cancel", chatter="740", login="sol")  # no Twitch badge needed
    await stream.handle()
    assert await _status(stream, pool_id) in (PoolStatus.cancelled, PoolStatus.refunded)
    async with unit_of_work(stream.resources) as session:
        actor = await session.scalar(
            select(PoolTransition.actor_id).where(
                PoolTransition.pool_id == pool_id, PoolTransition.to_status == "cancelled"
            )
        )
    assert actor == moderator.id


async def test_a_twitch_moderator_holding_a_position_may_not_resolve(stream: Stream) -> None:
    await _allow_twitch_moderators(stream)
    pool_id = await _pool(stream)
    moderator = Chatter(chatter="750", login="tom", badges=("moderator",))
    await stream.say("!bet 1 100", **moderator)
    await stream.say("!bet 2 100", chatter="751", login="uma")
    await stream.handle()
    await stream.say("!lock", **moderator)
    await stream.handle()
    await stream.say("!resolve 1", **moderator)
    await stream.handle()
    assert await _status(stream, pool_id) is PoolStatus.locked

    # Another moderator, without a position, may.
    await stream.say("!resolve 1", chatter="752", login="vic", badges=("moderator",))
    await stream.handle()
    await stream.handle()
    assert await _status(stream, pool_id) is PoolStatus.settled
    assert await _balance(stream, "tom") == SIGNUP + 100
    assert any(line.startswith("@Tom you hold a position") for line in await _said(stream))


async def test_redelivered_staff_commands_act_once(stream: Stream) -> None:
    pool_id = await _pool(stream)
    broadcaster = Chatter(chatter=BROADCASTER, login="streamer")
    message_id = await stream.say("!cancel", **broadcaster)
    await stream.say("!cancel", message_id=message_id, **broadcaster)
    await stream.handle()
    assert await _status(stream, pool_id) in (PoolStatus.cancelled, PoolStatus.refunded)
    assert await _said(stream) == [  # the command's answer, then the pool's end once refunded
        f"Pool #{pool_id} is cancelled.",
        f"Pool #{pool_id} (Test pool): every stake went back.",
    ]


# -- without a bot ------------------------------------------------------------------------------


async def test_without_a_bot_commands_still_work_and_nothing_is_said(stream: Stream) -> None:
    async with unit_of_work(stream.resources) as session:
        await session.execute(delete(PlatformToken))  # the bot's grant is gone
    pool_id = await _pool(stream, announced=False)
    await stream.say("!bet 1 100", chatter="760", login="wes")
    await stream.handle()
    assert await _bets(stream, pool_id) == {"wes": (1, 100)}
    assert await stream.replies() == []


async def test_a_rate_limited_reply_waits_and_goes_out_once(stream: Stream) -> None:
    await _pool(stream)
    stream.twitch.rate_limit_next(1, reset_in=1)
    await stream.say("!bet 1 100", chatter="770", login="xia")
    await stream.handle()
    assert await stream.replies() == []  # refused with 429: put back, retried when it resets
    # Twitch's reset is a whole second: the retry is due one to two seconds later.
    for _ in range(50):
        if said := await stream.replies():
            break
        await asyncio.sleep(0.2)
    assert said == ["@Xia 100 on Yes ✓"]
    await asyncio.sleep(COALESCE_MS / 1000)
    assert await stream.replies() == ["@Xia 100 on Yes ✓"]


async def test_a_refused_bot_token_is_refreshed_once_and_the_reply_goes_out(
    stream: Stream, settings: Settings
) -> None:
    await _pool(stream)
    before = await _bot_token(stream, settings)
    stream.twitch.unauthorized_next(1)  # Twitch refuses the bot's (still unexpired) token
    await stream.say("!bet 1 100", chatter="771", login="yan")
    await stream.handle()
    assert await stream.replies() == ["@Yan 100 on Yes ✓"]
    after = await _bot_token(stream, settings)
    assert after != before and after in stream.twitch.tokens  # refreshed, stored, valid


async def test_a_bot_whose_grant_is_gone_needs_a_relink_and_nothing_is_sent(
    stream: Stream, settings: Settings
) -> None:
    await _pool(stream)
    stream.twitch.revoke(await _bot_token(stream, settings))  # the bot's owner disconnected us
    await stream.say("!bet 1 100", chatter="772", login="zed")
    await stream.handle()
    assert await stream.replies() == []
    async with unit_of_work(stream.resources) as session:
        status = await session.scalar(
            select(PlatformToken.status).where(PlatformToken.purpose == TokenPurpose.bot)
        )
    assert status is TokenStatus.needs_relink


async def _bot_token(stream: Stream, settings: Settings) -> str:
    async with unit_of_work(stream.resources) as session:
        bot = await platform_token_service.bot(session, settings, Platform.twitch)
    assert bot is not None
    return bot[1]
