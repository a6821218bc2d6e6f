"""The demo seed: a channel with an open pool and two funded viewers, the same after a rerun."""

from sqlalchemy import text

from app.demo.service import DEMO_CHANNEL, VIEWERS, demo_service
from app.kit.resources import Resources
from app.kit.uow import unit_of_work


async def test_the_demo_seed_is_ready_to_bet_on_and_safe_to_run_again(
    resources: Resources,
) -> None:
    for _ in range(2):
        async with unit_of_work(resources) as session:
            await demo_service.seed(session, resources)
    async with unit_of_work(resources) as session:
        channels = (
            await session.execute(
                text("SELECT id FROM channels WHERE slug = :s"), {"s": DEMO_CHANNEL}
            )
        ).all()
        assert len(channels) == 1
        channel_id = channels[0].id
        open_pools = await session.scalar(
            text("SELECT count(*) FROM pools WHERE channel_id = :c AND status = 'open'"),
            {"c": channel_id},
        )
        assert open_pools == 1
        balances = (
            await session.execute(
                text(
                    "SELECT u.email, a.balance FROM accounts a JOIN users u ON u.id = a.user_id"
                    " WHERE a.currency = :currency ORDER BY u.email"
                ),
                {"currency": f"points:{channel_id}"},
            )
        ).all()
    assert [tuple(row) for row in balances] == [
        (viewer.email, resources.settings.points_signup_grant)
        for viewer in sorted(VIEWERS, key=lambda v: v.email)
    ]
