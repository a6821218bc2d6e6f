"""Platform identities: sign-in with a platform, linking to a signed-in account, chat-only
viewers created once on first interaction, and their merge into a full account."""

import asyncio
from datetime import date

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from app.auth.tokens import decode_access_token
from app.channel.service import channel_service
from app.kit.currency import points
from app.kit.resources import Resources
from app.kit.uow import unit_of_work
from app.ledger.service import ledger_service
from app.models.channel import Channel, Platform
from app.models.platform import PlatformAccount
from app.models.pool import PoolStatus
from app.models.user import User
from app.platform.errors import AccountCannotLink, PlatformIdentityTaken
from app.platform.schemas import IdentityInfo
from app.platform.service import platform_identity_service
from app.pool import schemas as pool_schemas
from app.pool.betting import pool_betting
from app.pool.lifecycle import pool_lifecycle
from app.protection.errors import AgeNotConfirmed
from app.protection.service import protection_service
from app.settings import Settings
from tests.conftest import RunJobs
from tests.factories import create_channel, create_pool, create_user

TWITCH = Platform.twitch


def _info(user_id: str = "4242", login: str = "sam", email: str | None = None) -> IdentityInfo:
    return IdentityInfo(
        platform=TWITCH,
        platform_user_id=user_id,
        login=login,
        display_name=login.title(),
        email=email,
    )


async def _channel(resources: Resources, settings: Settings) -> Channel:
    async with unit_of_work(resources) as session:
        owner = await create_user(session, settings)
        return await create_channel(session, owner.id)


async def _chatter(
    resources: Resources, settings: Settings, channel: Channel, user_id: str = "4242"
) -> User:
    async with unit_of_work(resources) as session:
        return await platform_identity_service.chatter(
            session, settings, channel, TWITCH, user_id, "sam", "Sam"
        )


async def _balance(resources: Resources, user_id: int, currency: str) -> int:
    async with unit_of_work(resources) as session:
        wallet = await ledger_service.wallet(session, user_id, currency)
        return await ledger_service.balance(session, wallet)


async def _identity_owner(resources: Resources, platform_user_id: str) -> int:
    async with unit_of_work(resources) as session:
        owner = await session.scalar(
            select(PlatformAccount.user_id).where(
                PlatformAccount.platform_user_id == platform_user_id
            )
        )
    assert owner is not None
    return owner


# -- sign-in ----------------------------------------------------------------------------------


async def test_signing_in_with_a_platform_creates_the_account_once_and_follows_renames(
    resources: Resources, settings: Settings
) -> None:
    async with unit_of_work(resources) as session:
        user = await platform_identity_service.sign_in_with_platform(
            session, _info(email="sam@example.com")
        )
        signed_in = await platform_identity_service.start_session(session, settings, user)
    assert user.email == "sam@example.com" and user.password_hash is None
    assert not user.chat_only
    principal, _ = decode_access_token(settings, signed_in.access_token)
    assert principal.user_id == user.id and signed_in.refresh_token

    async with unit_of_work(resources) as session:
        again = await platform_identity_service.sign_in_with_platform(
            session, _info(login="sam_renamed")
        )
        assert again.id == user.id
        (account,) = (await session.execute(select(PlatformAccount))).scalars()
        assert account.login == "sam_renamed" and account.display_name == "Sam_Renamed"


async def test_a_platform_email_another_account_uses_is_not_taken_over(
    resources: Resources, settings: Settings
) -> None:
    async with unit_of_work(resources) as session:
        existing = await create_user(session, settings, email="taken@example.com")
        user = await platform_identity_service.sign_in_with_platform(
            session, _info(email="TAKEN@example.com")
        )
    assert user.id != existing.id and user.email is None


async def test_concurrent_first_sign_ins_make_one_account(
    resources: Resources, settings: Settings
) -> None:
    async def sign_in() -> int:
        async with unit_of_work(resources) as session:
            return (await platform_identity_service.sign_in_with_platform(session, _info())).id

    first, second = await asyncio.gather(sign_in(), sign_in())
    assert first == second
    async with unit_of_work(resources) as session:
        assert await session.scalar(text("SELECT count(*) FROM users")) == 1


# -- chat-only viewers ------------------------------------------------------------------------


async def test_a_chatter_gets_one_chat_only_account_and_the_sign_up_grant_once(
    resources: Resources, settings: Settings
) -> None:
    channel = await _channel(resources, settings)
    users = await asyncio.gather(*(_chatter(resources, settings, channel) for _ in range(4)))
    assert len({user.id for user in users}) == 1
    chatter = users[0]
    assert chatter.chat_only and chatter.email is None and chatter.password_hash is None
    assert await _balance(resources, chatter.id, points(channel.id)) == (
        settings.points_signup_grant
    )
    async with unit_of_work(resources) as session:
        counts = await session.execute(
            text(
                "SELECT (SELECT count(*) FROM users WHERE chat_only),"
                " (SELECT count(*) FROM platform_accounts),"
                " (SELECT count(*) FROM channel_members WHERE user_id = :u)"
            ),
            {"u": chatter.id},
        )
        assert counts.one() == (1, 1, 1)


async def test_a_chat_only_account_never_reaches_cash(
    resources: Resources, settings: Settings
) -> None:
    channel = await _channel(resources, settings)
    chatter = await _chatter(resources, settings, channel)
    async with unit_of_work(resources) as session:
        with pytest.raises(AgeNotConfirmed):
            await protection_service.ensure_can_play_cash(session, settings, chatter.id)
        with pytest.raises(AgeNotConfirmed):
            await protection_service.reserve_deposit(session, settings, chatter.id, 500)
    # Nor can a date of birth ever be recorded for it: the database refuses.
    with pytest.raises(IntegrityError, match="chat_only_has_no_credentials"):
        async with unit_of_work(resources) as session:
            await session.execute(
                text("UPDATE users SET birth_date = :d WHERE id = :u"),
                {"d": date(1990, 1, 1), "u": chatter.id},
            )


async def test_signing_in_with_the_platform_claims_the_chat_only_account(
    resources: Resources, settings: Settings
) -> None:
    channel = await _channel(resources, settings)
    chatter = await _chatter(resources, settings, channel)
    async with unit_of_work(resources) as session:
        user = await platform_identity_service.sign_in_with_platform(
            session, _info(email="sam@example.com")
        )
    assert user.id == chatter.id and not user.chat_only and user.email == "sam@example.com"
    assert await _balance(resources, user.id, points(channel.id)) == settings.points_signup_grant


# -- linking and merging ----------------------------------------------------------------------


async def test_linking_an_identity_of_another_full_account_is_refused(
    resources: Resources, settings: Settings
) -> None:
    async with unit_of_work(resources) as session:
        await platform_identity_service.sign_in_with_platform(session, _info())
        other = await create_user(session, settings)
    with pytest.raises(PlatformIdentityTaken) as refused:
        async with unit_of_work(resources) as session:
            await platform_identity_service.link_platform_to_user(
                session, settings, other.id, _info()
            )
    assert refused.value.status == 409 and refused.value.code == "platform_identity_taken"


async def test_linking_a_new_identity_and_relinking_it_are_the_same(
    resources: Resources, settings: Settings
) -> None:
    async with unit_of_work(resources) as session:
        user = await create_user(session, settings)
    for _ in range(2):
        async with unit_of_work(resources) as session:
            account = await platform_identity_service.link_platform_to_user(
                session, settings, user.id, _info()
            )
        assert account.user_id == user.id
    async with unit_of_work(resources) as session:
        assert await session.scalar(text("SELECT count(*) FROM platform_accounts")) == 1


async def test_a_chat_only_account_cannot_link(resources: Resources, settings: Settings) -> None:
    channel = await _channel(resources, settings)
    chatter = await _chatter(resources, settings, channel)
    with pytest.raises(AccountCannotLink):
        async with unit_of_work(resources) as session:
            await platform_identity_service.link_platform_to_user(
                session, settings, chatter.id, _info("999")
            )


async def test_merging_moves_money_and_memberships_and_pays_open_bets_after_settlement(
    resources: Resources, settings: Settings, run_jobs: RunJobs
) -> None:
    channel = await _channel(resources, settings)
    other = await _channel(resources, settings)
    chatter = await _chatter(resources, settings, channel)
    await _chatter(resources, settings, other)
    async with unit_of_work(resources) as session:
        target = await create_user(session, settings)
        # The target already belongs to one of the channels: no second grant there.
        await channel_service.ensure_member(session, settings, other, target.id)
        pool = await create_pool(session, resources, channel)
    async with unit_of_work(resources) as session:
        await pool_betting.place_bet(
            session,
            resources,
            chatter.id,
            pool.id,
            pool_schemas.BetCreate(outcome_id=pool.outcomes[0].id, amount=300),
            "bet-1",
        )

    async with unit_of_work(resources) as session:
        await platform_identity_service.link_platform_to_user(session, settings, target.id, _info())

    grant = settings.points_signup_grant
    assert await _balance(resources, target.id, points(channel.id)) == grant - 300
    assert await _balance(resources, target.id, points(other.id)) == 2 * grant
    assert await _balance(resources, chatter.id, points(channel.id)) == 0
    assert await _identity_owner(resources, "4242") == target.id
    async with unit_of_work(resources) as session:
        merged = await session.get(User, chatter.id)
        assert merged is not None and merged.merged_into == target.id
        members = await session.execute(
            text("SELECT channel_id, user_id FROM channel_members ORDER BY channel_id, user_id")
        )
        assert sorted(members) == sorted([(channel.id, target.id), (other.id, target.id)])
        # Joining again grants nothing: the merged account had its sign-up grant here.
        assert not await channel_service.ensure_member(session, settings, channel, target.id)

    # The open bet stays the chat-only account's; its payout reaches the target by the sweep.
    async with unit_of_work(resources) as session:
        await pool_lifecycle.lock(session, resources, None, pool.id)
        await pool_lifecycle.resolve(session, resources, None, pool.id, pool.outcomes[0].id)
    await run_jobs()
    async with unit_of_work(resources) as session:
        assert (
            await session.scalar(
                text("SELECT status::text FROM pools WHERE id = :p"), {"p": pool.id}
            )
            == PoolStatus.settled.value
        )
        assert await platform_identity_service.sweep_merged(session) == 1
    async with unit_of_work(resources) as session:
        assert await platform_identity_service.sweep_merged(session) == 0
    assert await _balance(resources, target.id, points(channel.id)) == grant
    assert await _balance(resources, chatter.id, points(channel.id)) == 0


async def test_two_merges_of_one_chat_only_account_at_once_merge_it_once(
    resources: Resources, settings: Settings
) -> None:
    channel = await _channel(resources, settings)
    chatter = await _chatter(resources, settings, channel)
    async with unit_of_work(resources) as session:
        first = await create_user(session, settings)
        second = await create_user(session, settings)

    async def link(user_id: int) -> str:
        try:
            async with unit_of_work(resources) as session:
                await platform_identity_service.link_platform_to_user(
                    session, settings, user_id, _info()
                )
        except PlatformIdentityTaken:
            return "taken"
        return "merged"

    outcomes = await asyncio.gather(link(first.id), link(second.id))
    assert sorted(outcomes) == ["merged", "taken"]
    winner = first.id if outcomes[0] == "merged" else second.id
    loser = second.id if winner == first.id else first.id
    grant = settings.points_signup_grant
    assert await _balance(resources, winner, points(channel.id)) == grant
    assert await _balance(resources, loser, points(channel.id)) == 0
    assert await _balance(resources, chatter.id, points(channel.id)) == 0
    # The same merge twice at once (a double click) is one merge.
    results = await asyncio.gather(link(winner), link(winner))
    assert list(results) == ["merged", "merged"]
    assert await _balance(resources, winner, points(channel.id)) == grant
