"""Twitch EventSub webhook subscriptions kept right against a fake Twitch: a link gets exactly
its subscriptions, the cron puts back what Twitch lost or killed and deletes orphans, Helix's
409, 429 and 401 are handled, and revocations are acted on."""

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from app.kit.resources import Resources
from app.kit.uow import read_session
from app.models.channel import LinkStatus
from app.models.platform import PlatformToken, TokenPurpose, TokenStatus
from app.settings import Settings
from app.stream.subscriptions import Plan, TwitchApi, twitch_subscription_service
from tests.conftest import RunJobs
from tests.fakes.twitch import Delivery, FakeTwitch, objects
from tests.stream.twitch import (
    expected,
    link_bot,
    link_channel,
    link_status,
    listed,
    subscription_of,
)

SECRET = "eventsub-secret-for-tests"
PUBLIC_URL = "https://pools.example.com"
CALLBACK = f"{PUBLIC_URL}/webhooks/twitch"
BROADCASTER, OTHER, BOT = "141981764", "555000111", "900900"
RECONCILE = "twitch.subscriptions.reconcile"

#: Where the Twitch app token is cached (encrypted).
APP_TOKEN_KEY = "twitch:app_token"


@pytest.fixture
def settings(database_url: str, redis_url: str, fake_twitch: FakeTwitch) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        public_url=PUBLIC_URL,
        twitch_client_id=fake_twitch.client_id,
        twitch_client_secret=SecretStr(fake_twitch.client_secret),
        twitch_eventsub_secret=SecretStr(SECRET),
        twitch_api_base=fake_twitch.helix_url,
        twitch_id_base=fake_twitch.id_url,
    )


class Sleeps:
    """Stands in for asyncio.sleep in the Helix client: records the waits, waits for none."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def token_requests(fake: FakeTwitch) -> int:
    return sum(1 for _, path, _ in fake.requests if path == "/oauth2/token")


def creations(fake: FakeTwitch) -> int:
    return sum(
        1
        for method, path, _ in fake.requests
        if (method, path) == ("POST", "/helix/eventsub/subscriptions")
    )


async def deliver(client: httpx.AsyncClient, delivery: Delivery) -> httpx.Response:
    """POST a signed delivery to /webhooks/twitch as Twitch does."""
    return await client.post("/webhooks/twitch", content=delivery.body, headers=delivery.headers)


async def reconcile(resources: Resources, run_jobs: RunJobs, *args: int) -> None:
    await resources.jobs.enqueue_job(RECONCILE, *args)
    await run_jobs()


async def test_a_linked_channel_gets_exactly_its_subscriptions_once(
    resources: Resources, settings: Settings, fake_twitch: FakeTwitch, run_jobs: RunJobs
) -> None:
    await link_bot(resources, settings, fake_twitch, BOT)
    linked = await link_channel(resources, settings, fake_twitch, BROADCASTER)
    await link_channel(resources, settings, fake_twitch, OTHER, scopes=[])

    await reconcile(resources, run_jobs, linked.channel_id)

    # Only the linked channel's: the other channel waits for its own reconcile (or the cron).
    assert listed(fake_twitch) == expected(BROADCASTER, bot_id=BOT)
    assert all(
        subscription["transport"] == {"method": "webhook", "callback": CALLBACK}
        for subscription in fake_twitch.subscriptions.values()
    )
    assert set(fake_twitch.subscription_secrets.values()) == {SECRET}
    ids = set(fake_twitch.subscriptions)

    await reconcile(resources, run_jobs, linked.channel_id)
    await reconcile(resources, run_jobs)

    # The second channel has no predictions grant: its stream events only.
    assert listed(fake_twitch) == expected(BROADCASTER, bot_id=BOT) | expected(
        OTHER, predictions=False, bot_id=BOT
    )
    assert ids <= set(fake_twitch.subscriptions)
    assert len(fake_twitch.subscriptions) == 7 + 3
    # One app token, cached between the runs.
    assert token_requests(fake_twitch) == 1


async def test_what_twitch_already_has_is_answered_409_and_taken_as_made(
    resources: Resources, settings: Settings, fake_twitch: FakeTwitch, run_jobs: RunJobs
) -> None:
    linked = await link_channel(resources, settings, fake_twitch, BROADCASTER)
    await reconcile(resources, run_jobs, linked.channel_id)
    async with read_session(resources) as session:
        plan = await twitch_subscription_service.plan(session, settings, linked.channel_id)
    # As if listing had missed them (made meanwhile by a concurrent run): all six refused 409.
    blind = Plan(wanted=plan.wanted, broadcasters=frozenset())
    async with TwitchApi(settings, resources.redis) as api:
        report = await twitch_subscription_service.reconcile_webhooks(api, settings, blind)

    assert (report.created, report.existing, report.failed) == (0, 6, 0)
    assert len(fake_twitch.subscriptions) == 6


async def test_the_cron_puts_back_what_twitch_lost_or_stopped(
    resources: Resources, settings: Settings, fake_twitch: FakeTwitch, run_jobs: RunJobs
) -> None:
    linked = await link_channel(resources, settings, fake_twitch, BROADCASTER)
    await reconcile(resources, run_jobs, linked.channel_id)
    lost = subscription_of(fake_twitch, "stream.online", BROADCASTER)["id"]
    failing = subscription_of(fake_twitch, "channel.prediction.lock", BROADCASTER)["id"]
    untouched = subscription_of(fake_twitch, "stream.offline", BROADCASTER)["id"]
    del fake_twitch.subscriptions[lost]
    fake_twitch.subscriptions[failing]["status"] = "notification_failures_exceeded"

    await reconcile(resources, run_jobs)

    assert listed(fake_twitch) == expected(BROADCASTER)
    assert len(fake_twitch.subscriptions) == 6
    assert failing not in fake_twitch.subscriptions and untouched in fake_twitch.subscriptions
    assert all(
        s["status"] != "notification_failures_exceeded" for s in fake_twitch.subscriptions.values()
    )


async def test_orphans_on_this_server_are_deleted_and_other_servers_left_alone(
    resources: Resources, settings: Settings, fake_twitch: FakeTwitch, run_jobs: RunJobs
) -> None:
    await link_channel(resources, settings, fake_twitch, BROADCASTER)
    condition = {"broadcaster_user_id": OTHER}
    for callback in [
        CALLBACK,
        f"{PUBLIC_URL}/old/twitch",
        "https://staging.example.com/webhooks/twitch",
    ]:
        orphan = objects.subscription(
            "stream.online", condition, {"method": "webhook", "callback": callback}
        )
        fake_twitch.subscriptions[orphan["id"]] = orphan
    wrong_path = objects.subscription(
        "stream.offline",
        {"broadcaster_user_id": BROADCASTER},
        {"method": "webhook", "callback": f"{PUBLIC_URL}/old/twitch"},
    )
    fake_twitch.subscriptions[wrong_path["id"]] = wrong_path

    await reconcile(resources, run_jobs)

    assert listed(fake_twitch, callback=CALLBACK) == expected(BROADCASTER)
    assert listed(fake_twitch, callback=f"{PUBLIC_URL}/old/twitch") == set()
    # Another deployment of the same Twitch app keeps its own.
    assert listed(fake_twitch, callback="https://staging.example.com/webhooks/twitch") == {
        ("stream.online", (("broadcaster_user_id", OTHER),))
    }


async def test_a_rate_limit_is_waited_out_until_its_reset(
    resources: Resources, settings: Settings, fake_twitch: FakeTwitch
) -> None:
    linked = await link_channel(resources, settings, fake_twitch, BROADCASTER)
    async with read_session(resources) as session:
        plan = await twitch_subscription_service.plan(session, settings, linked.channel_id)
    fake_twitch.rate_limit_next(1, reset_in=20)
    sleeps = Sleeps()
    async with TwitchApi(settings, resources.redis, sleep=sleeps) as api:
        report = await twitch_subscription_service.reconcile_webhooks(api, settings, plan)

    assert len(sleeps.waits) == 1 and 18 <= sleeps.waits[0] <= 21
    assert report.created == 6 and listed(fake_twitch) == expected(BROADCASTER)


async def test_a_refused_app_token_is_replaced_and_the_call_made_again(
    resources: Resources, settings: Settings, fake_twitch: FakeTwitch, run_jobs: RunJobs
) -> None:
    linked = await link_channel(resources, settings, fake_twitch, BROADCASTER)
    await reconcile(resources, run_jobs, linked.channel_id)
    cached = await resources.redis.get(APP_TOKEN_KEY)
    del fake_twitch.subscriptions[subscription_of(fake_twitch, "stream.online", BROADCASTER)["id"]]
    fake_twitch.unauthorized_next(1)

    await reconcile(resources, run_jobs, linked.channel_id)

    assert token_requests(fake_twitch) == 2
    assert await resources.redis.get(APP_TOKEN_KEY) not in (None, cached)
    assert listed(fake_twitch) == expected(BROADCASTER)


async def test_a_revoked_grant_marks_the_link_and_its_subscriptions_go(
    client: httpx.AsyncClient,
    resources: Resources,
    settings: Settings,
    fake_twitch: FakeTwitch,
    run_jobs: RunJobs,
) -> None:
    linked = await link_channel(resources, settings, fake_twitch, BROADCASTER)
    await reconcile(resources, run_jobs, linked.channel_id)
    revoked = subscription_of(fake_twitch, "channel.prediction.begin", BROADCASTER)["id"]
    delivery = fake_twitch.revocation_for(revoked, "authorization_revoked")

    response = await deliver(client, delivery)
    assert response.status_code == 200
    await run_jobs()

    assert await link_status(resources, linked.channel_id) is LinkStatus.needs_relink
    async with read_session(resources) as session:
        status = await session.scalar(
            select(PlatformToken.status).where(
                PlatformToken.platform_account_id == linked.account_id,
                PlatformToken.purpose == TokenPurpose.broadcaster,
            )
        )
    assert status is TokenStatus.needs_relink
    # Nothing of the broadcaster's stays subscribed until they link again.
    assert fake_twitch.subscriptions == {}


async def test_a_subscription_revoked_for_failing_deliveries_is_made_again(
    client: httpx.AsyncClient,
    resources: Resources,
    settings: Settings,
    fake_twitch: FakeTwitch,
    run_jobs: RunJobs,
) -> None:
    linked = await link_channel(resources, settings, fake_twitch, BROADCASTER)
    await reconcile(resources, run_jobs, linked.channel_id)
    revoked = subscription_of(fake_twitch, "stream.online", BROADCASTER)["id"]
    delivery = fake_twitch.revocation_for(revoked, "notification_failures_exceeded")

    assert (await deliver(client, delivery)).status_code == 200
    await run_jobs()

    assert revoked not in fake_twitch.subscriptions
    assert listed(fake_twitch) == expected(BROADCASTER)
    assert await link_status(resources, linked.channel_id) is LinkStatus.verified


async def test_the_cron_finds_a_revoked_grant_whose_delivery_was_lost(
    resources: Resources, settings: Settings, fake_twitch: FakeTwitch, run_jobs: RunJobs
) -> None:
    linked = await link_channel(resources, settings, fake_twitch, BROADCASTER)
    await reconcile(resources, run_jobs, linked.channel_id)
    revoked = subscription_of(fake_twitch, "channel.prediction.end", BROADCASTER)["id"]
    fake_twitch.subscriptions[revoked]["status"] = "authorization_revoked"

    await reconcile(resources, run_jobs)
    assert await link_status(resources, linked.channel_id) is LinkStatus.needs_relink
    await reconcile(resources, run_jobs)
    assert fake_twitch.subscriptions == {}
