"""Settlement stays exact with huge stakes, where decimal division would round: the leftover
units go to the largest remainders, never twice to one winner."""

from sqlalchemy import text

from app.auth.tokens import Principal
from app.kit.resources import Resources
from app.kit.uow import unit_of_work
from app.ledger.service import points
from app.models.user import Role
from app.pool import schemas
from app.pool.service import pool_service
from app.settings import Settings
from tests.factories import create_channel, create_user, fund_wallet

W = 10**12


async def test_payouts_of_a_trillion_point_pool_are_split_exactly(
    resources: Resources, settings: Settings
) -> None:
    # Three winners whose shares leave 2 units over: by the largest remainders they go to the
    # first and second winner. 500000000000.999999999998 must not be rounded up to a whole.
    stakes = {"first": W // 2 - 1, "second": 3 * W // 10, "third": 2 * W // 10 + 1, "loser": 2}
    async with unit_of_work(resources) as session:
        owner = await create_user(session, settings)
        channel = await create_channel(session, owner.id)
        users = {name: await create_user(session, settings) for name in stakes}
        for name, user in users.items():
            await fund_wallet(session, user.id, stakes[name], points(channel.id))
    staff = Principal(owner.id, Role.user)
    async with unit_of_work(resources) as session:
        pool = await pool_service.create(
            session,
            resources,
            staff,
            schemas.PoolCreate(
                channel_id=channel.id,
                title="Whale watch",
                outcomes=["Win", "Lose"],
                max_stake=W,
                window_seconds=600,
            ),
        )
    win, lose = (outcome.id for outcome in pool.outcomes)
    for name, user in users.items():
        async with unit_of_work(resources) as session:
            await pool_service.place_bet(
                session,
                resources,
                user.id,
                pool.id,
                schemas.BetCreate(outcome_id=lose if name == "loser" else win, amount=stakes[name]),
                f"whale-{name}",
            )
    async with unit_of_work(resources) as session:
        await pool_service.lock(session, resources, staff, pool.id)
    async with unit_of_work(resources) as session:
        await pool_service.resolve(session, resources, staff, pool.id, win)
    async with unit_of_work(resources) as session:
        assert await pool_service.settle(session, resources, pool.id)
        rows = await session.execute(
            text("SELECT user_id, coalesce(payout, 0) AS payout FROM bets WHERE pool_id = :pool"),
            {"pool": pool.id},
        )
        paid = {row.user_id: row.payout for row in rows}
    assert {name: paid[user.id] for name, user in users.items()} == {
        "first": W // 2,
        "second": 3 * W // 10 + 1,
        "third": 2 * W // 10 + 1,
        "loser": 0,
    }
