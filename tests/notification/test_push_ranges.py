"""A big event's pushes split into user ranges that lanes (jobs run side by side) take one after
the other: still exactly one push per device, every device reached, a range with refusals
retried on its own, and a worker killed in the middle of ranges sends nobody a push twice. The
HTTP client under firebase-admin: a refused connection is retried later, never taken as
delivered."""

import asyncio
import itertools
from pathlib import Path

import httpx
import pytest

from app.kit.embedded import free_port
from app.kit.resources import Resources
from app.kit.uow import unit_of_work
from app.notification import service as service_module
from app.notification import tasks
from app.notification.repository import ALL_USERS, USERS_END, notification_repository
from app.notification.service import notification_service
from app.settings import Settings
from integrations.firebase.client import FcmClient, Outcome, Push
from tests.conftest import RunJobs
from tests.fakes.fcm import FakeFcm, StaticCredential
from tests.notification.conftest import crowd, kill_mid_push, rows
from tests.worlds import World, open_pool


async def _opened(
    client: httpx.AsyncClient, world: World, resources: Resources, members: int, prefix: str
) -> tuple[str, list[str]]:
    """A pool opened in a channel of ``members`` (one device each), its inbox rows written
    and no push sent yet; the event's key and the members' tokens."""
    tokens = await crowd(resources, world.channel_id, members, prefix)
    pool = await open_pool(client, world)
    async with unit_of_work(resources) as session:
        assert await notification_service.pool_opened(session, pool["id"]) == members
    return f"pool.opened:{pool['id']}", tokens


@pytest.fixture
def small_ranges(monkeypatch: pytest.MonkeyPatch) -> None:
    """Events of more than 250 pending rows are split in ranges of about 250, the lanes all
    due at once."""
    monkeypatch.setattr(service_module, "SPLIT_ROWS", 250)
    monkeypatch.setattr(service_module, "RANGE_ROWS", 250)
    monkeypatch.setattr(service_module, "LANE_STAGGER_SECONDS", 0)


async def test_the_ranges_cover_every_user_once_with_about_equalrows(
    client: httpx.AsyncClient, world: World, resources: Resources
) -> None:
    key, _tokens = await _opened(client, world, resources, 1_003, "ranges")
    async with unit_of_work(resources) as session:
        ranges = await notification_repository.user_ranges(session, key, 4)
    assert ranges[0][0] == 0 and ranges[-1][1] == USERS_END
    assert all(end == first for (_, end), (first, _) in itertools.pairwise(ranges))
    users = [
        user
        for (user,) in await rows(
            resources, "SELECT user_id FROM notifications WHERE event_key = :k", k=key
        )
    ]
    sizes = [sum(first <= user < end for user in users) for first, end in ranges]
    assert sum(sizes) == 1_003 and max(sizes) - min(sizes) <= 1


@pytest.mark.usefixtures("small_ranges")
async def test_a_big_event_is_split_in_ranges_and_reaches_each_device_once(
    client: httpx.AsyncClient,
    world: World,
    resources: Resources,
    push: FcmClient,
    fake_fcm: FakeFcm,
    run_jobs: RunJobs,
) -> None:
    key, tokens = await _opened(client, world, resources, 1_001, "ranges")
    summary = await tasks.push_event({"resources": resources, "job_try": 1}, key)
    assert (
        summary["parts"] == 5 and summary["sent"] == 0
    )  # split in five ranges, nothing sent by the split
    assert fake_fcm.requests == []
    await run_jobs()  # the lanes (and the jobs the pool's opening queued)
    assert sorted(fake_fcm.tokens()) == sorted(tokens)
    assert set(fake_fcm.per_token().values()) == {1}
    [(states,)] = await rows(
        resources,
        "SELECT array_agg(DISTINCT push_state) FROM notifications WHERE event_key = :k",
        k=key,
    )
    assert states == ["done"]
    # The whole event again: nothing more goes out.
    assert (await tasks.push_event({"resources": resources, "job_try": 1}, key))["parts"] == 0
    assert len(fake_fcm.messages) == 1_001


async def test_ranges_that_overlap_and_a_whole_pass_at_once_send_each_push_once(
    client: httpx.AsyncClient,
    world: World,
    resources: Resources,
    push: FcmClient,
    fake_fcm: FakeFcm,
) -> None:
    key, tokens = await _opened(client, world, resources, 1_200, "overlap")
    async with unit_of_work(resources) as session:
        halves = await notification_repository.user_ranges(session, key, 2)
    middle = halves[1][0]
    ranges = [ALL_USERS, (0, middle + 100), (middle - 100, USERS_END), halves[0], halves[1]]
    reports = await asyncio.gather(
        *(notification_service.push(resources, key, users) for users in ranges)
    )
    assert sum(report.sent for report in reports) == 1_200
    assert sorted(fake_fcm.tokens()) == sorted(tokens)
    assert set(fake_fcm.per_token().values()) == {1}


@pytest.mark.usefixtures("small_ranges")
async def test_lanes_take_the_ranges_one_by_one_and_a_range_refused_goes_on_alone(
    client: httpx.AsyncClient,
    world: World,
    resources: Resources,
    push: FcmClient,
    fake_fcm: FakeFcm,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(service_module, "LANES", 2)
    key, tokens = await _opened(client, world, resources, 1_000, "lanes")
    fake_fcm.fail_token(tokens[0], "BAD_GATEWAY", times=1)  # in the first range
    assert (await notification_service.push(resources, key)).parts == 4
    [first_lane, second_lane] = [
        job.args
        for job in await resources.jobs.queued_jobs()
        if job.job_id and ":lane:" in job.job_id
    ]
    assert first_lane == second_lane  # the same list of ranges
    ranges = first_lane[3]
    # Two lanes side by side take the four ranges between them, each range once.
    one, two = await asyncio.gather(
        notification_service.push_lane(resources, key, ranges),
        notification_service.push_lane(resources, key, ranges),
    )
    assert one.parts + two.parts == 4 and one.sent + two.sent == 999
    assert await resources.redis.exists(ranges) == 0  # all taken
    # The range with the refusal goes on as a job of its own, two seconds on.
    [retry] = [
        job for job in await resources.jobs.queued_jobs() if job.job_id and ":users:" in job.job_id
    ]
    first, end = retry.args[1:3]
    assert first == 0
    assert (await tasks.push_event({"resources": resources, "job_try": 1}, key, first, end))[
        "sent"
    ] == 1
    assert sorted(fake_fcm.tokens()) == sorted(tokens)
    assert set(fake_fcm.per_token().values()) == {1}
    [(left,)] = await rows(
        resources,
        "SELECT count(*) FROM notifications WHERE event_key = :k AND push_state <> 'done'",
        k=key,
    )
    assert left == 0


@pytest.mark.usefixtures("small_ranges")
async def test_an_event_whose_lanes_are_at_work_is_not_split_again(
    client: httpx.AsyncClient,
    world: World,
    resources: Resources,
    push: FcmClient,
    fake_fcm: FakeFcm,
    run_jobs: RunJobs,
) -> None:
    key, tokens = await _opened(client, world, resources, 600, "again")
    assert (await notification_service.push(resources, key)).parts == 3
    # The sweep's run a minute on, the lanes still at it: nothing more queued.
    assert (await notification_service.push(resources, key)).parts == 0
    lanes = [
        job for job in await resources.jobs.queued_jobs() if job.job_id and ":lane:" in job.job_id
    ]
    assert len(lanes) == 3
    # Once the lanes are gone (their worker killed, say), the next run splits what is left.
    await resources.redis.delete(service_module.lanes_key(key))
    assert (await notification_service.push(resources, key)).parts == 3
    await run_jobs()
    assert sorted(fake_fcm.tokens()) == sorted(tokens)
    assert set(fake_fcm.per_token().values()) == {1}


async def test_a_push_to_retry_keeps_its_row_pending_even_if_another_run_marked_it_done(
    client: httpx.AsyncClient,
    world: World,
    resources: Resources,
    push: FcmClient,
    fake_fcm: FakeFcm,
) -> None:
    key, tokens = await _opened(client, world, resources, 3, "reopen")
    fake_fcm.fail_token(tokens[1], "BAD_GATEWAY", times=1)
    fake_fcm.hold_after(0)  # the run's batch waits at FCM ...
    run = asyncio.create_task(notification_service.push(resources, key, ALL_USERS))
    await fake_fcm.held(3)
    async with unit_of_work(resources) as session:  # ... while another run finishes the event
        await notification_repository.finish_event(session, key)
    fake_fcm.release()
    report = await run
    assert (report.sent, report.retry, report.retries_left) == (2, 1, 1)
    pending = await rows(
        resources,
        "SELECT d.token FROM notifications n JOIN devices d ON d.user_id = n.user_id"
        " WHERE n.event_key = :k AND n.push_state = 'pending'",
        k=key,
    )
    assert pending == [(tokens[1],)]  # the sweep, or the job's retry, finds it
    assert (await notification_service.push(resources, key)).sent == 1
    assert sorted(fake_fcm.tokens()) == sorted(tokens)


async def test_no_push_is_sent_twice_after_a_worker_pushing_ranges_is_killed(
    client: httpx.AsyncClient,
    world: World,
    resources: Resources,
    settings: Settings,
    push: FcmClient,
    fake_fcm: FakeFcm,
    run_jobs: RunJobs,
    tmp_path: Path,
) -> None:
    """A real worker process pushes two ranges side by side and is killed while FCM holds some
    of their batches; the event pushed again (whole) sends the rest, and nobody twice."""
    key, tokens = await _opened(client, world, resources, 1_600, "killranges")
    resources.push = None  # the jobs the opening queued find pushes off and send nothing
    await run_jobs()
    resources.push = push
    async with unit_of_work(resources) as session:
        ranges = await notification_repository.user_ranges(session, key, 2)

    async def ranges_queued() -> None:
        for first, end in ranges:
            await resources.jobs.enqueue_job(
                "notification.push", key, first, end, _job_id=f"range-{key}-{first}"
            )

    await kill_mid_push(settings, fake_fcm, tmp_path, 900, ranges_queued)
    sending = {
        token
        for (token,) in await rows(
            resources,
            "SELECT d.token FROM notification_deliveries x JOIN devices d ON d.id = x.device_id"
            " WHERE x.status = 'sending'",
        )
    }
    assert sending  # batches in flight when the worker died: claimed, never sent again
    before = set(fake_fcm.tokens())

    await resources.jobs.enqueue_job("notification.push", key, _job_id=f"again-{key}")
    await run_jobs()
    assert set(fake_fcm.per_token().values()) == {1}  # nobody got it twice
    again = set(fake_fcm.tokens()) - before
    assert again and not again & sending  # the rest went on the rerun, no claimed one
    assert set(tokens) == set(fake_fcm.tokens()) | sending  # everyone else reached


async def test_a_refused_connection_is_retried_later_not_taken_as_delivered() -> None:
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    client = FcmClient(StaticCredential(), project_id="streampools-test", endpoint=closed)
    try:
        results = await client.send([Push(token="t1", title="a", body="b")])
    finally:
        await client.aclose()
    assert [result.outcome for result in results] == [Outcome.retry]
    assert results[0].error is not None and "Unavailable" in results[0].error
