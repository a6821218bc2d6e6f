"""The demo seed: a channel with an open pool and two funded viewers (and, in development, an
overlay key of a known value), the same after a rerun."""

import hashlib

from sqlalchemy import text

from app.demo.service import DEMO_CHANNEL, DEMO_OVERLAY_KEY, VIEWERS, demo_service
from app.kit.resources import Resources, open_resources
from app.kit.uow import unit_of_work
from app.settings import Settings
from tests.conftest import LiveServer
from tests.realtime.conftest import SocketClient


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


async def test_in_development_the_demo_has_one_overlay_key_that_watches_its_channel(
    settings: Settings, live_server: LiveServer
) -> None:
    development = await open_resources(settings.model_copy(update={"env": "development"}))
    try:
        for _ in range(2):
            async with unit_of_work(development) as session:
                await demo_service.seed(session, development)
        async with unit_of_work(development) as session:
            keys = (
                await session.execute(
                    text(
                        "SELECT k.label, k.key_hash, k.revoked_at FROM overlay_keys k"
                        " JOIN channels c ON c.id = k.channel_id WHERE c.slug = :slug"
                    ),
                    {"slug": DEMO_CHANNEL},
                )
            ).all()
            channel_id = await session.scalar(
                text("SELECT id FROM channels WHERE slug = :s"), {"s": DEMO_CHANNEL}
            )
    finally:
        await development.close()
    assert [(k.label, bytes(k.key_hash), k.revoked_at) for k in keys] == [
        ("Demo overlay", hashlib.sha256(DEMO_OVERLAY_KEY.encode()).digest(), None)
    ]
    assert demo_service.overlay_url(development.settings) == (
        f"{settings.public_url}/overlay/demo?key={DEMO_OVERLAY_KEY}"
    )

    overlay = SocketClient()
    await overlay.connect(live_server.url, overlay_key=DEMO_OVERLAY_KEY)
    try:
        snapshot = await overlay.call("channel:join", {"channel": channel_id})
        assert snapshot["ok"] is True, snapshot
        assert [p["status"] for p in snapshot["pools"]] == ["open"]
    finally:
        await overlay.close()


async def test_outside_development_the_demo_has_no_overlay_key(resources: Resources) -> None:
    for env in ("test", "production"):
        assert not demo_service.seeds_overlay_key(
            resources.settings.model_copy(update={"env": env})
        )
    async with unit_of_work(resources) as session:
        await demo_service.seed(session, resources)
        assert await session.scalar(text("SELECT count(*) FROM overlay_keys")) == 0
    assert demo_service.overlay_url(resources.settings) is None
