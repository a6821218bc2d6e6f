"""The README's push walk-through, run as a newcomer runs it: a web process, a worker with
pushes on (the real firebase-admin path to the fake FCM), the demo seeded; twice in a row."""

from collections import Counter
from collections.abc import AsyncIterator

import pytest

from app.demo.service import demo_service
from app.kit.resources import open_resources
from app.kit.uow import unit_of_work
from app.settings import Settings
from integrations.firebase.client import FcmClient
from tests.conftest import LiveServer, running_worker
from tests.fakes.fcm import FakeFcm, StaticCredential
from tests.test_readme import Platform, readme_block, run_block


@pytest.fixture
async def pushing_platform(
    settings: Settings, live_server: LiveServer, fake_fcm: FakeFcm
) -> AsyncIterator[Platform]:
    development = settings.model_copy(update={"env": "development"})
    resources = await open_resources(development)
    resources.push = FcmClient(
        StaticCredential(), project_id=fake_fcm.project, endpoint=fake_fcm.url
    )
    async with unit_of_work(resources) as session:
        await demo_service.seed(session, resources)
    try:
        async with running_worker(resources):
            yield Platform(live_server.url, settings)
    finally:
        await resources.close()


async def test_a_winner_finds_you_won_in_the_inbox_and_one_push_per_device(
    pushing_platform: Platform, fake_fcm: FakeFcm
) -> None:
    block = readme_block("### Try pushes locally with the fake FCM", 2)
    script = f"export STREAMPOOLS_FCM_API_BASE={fake_fcm.url}\n{block}"
    for _ in range(2):
        lines = await run_block(pushing_platform, script)
        assert "You won 100 points!" in lines, lines
        assert "pushes for it: ['demo-browser', 'demo-phone']" in lines, lines
        assert lines[-1] == "True"
    pushes = Counter((m["token"], m["data"]["notification_id"]) for m in fake_fcm.messages)
    assert set(pushes.values()) == {1}  # never twice to a device
    kinds = sorted(m["data"]["kind"] for m in fake_fcm.messages if m["token"] == "demo-phone")
    assert kinds == ["pool.opened", "pool.opened", "pool.won", "pool.won"]
