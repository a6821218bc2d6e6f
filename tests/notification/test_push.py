"""Pushes through the real firebase-admin code path to the fake FCM: a channel's members told
a pool opened in batches of 500, dead tokens pruned, refusals retried alone, preferences and
quiet hours obeyed, and no push twice, even after a worker is killed mid-batch."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from arq import Retry

from app.kit.resources import Resources
from app.kit.uow import unit_of_work
from app.models.notification import NotificationKind
from app.notification import tasks
from app.notification.service import notification_service
from app.settings import Settings
from integrations.firebase.client import FcmClient
from tests.conftest import RunJobs
from tests.fakes.fcm import FakeFcm
from tests.notification.conftest import add_device, crowd, kill_mid_push, rows
from tests.worlds import World, bet, open_pool


async def _open_for(
    client: httpx.AsyncClient, world: World, resources: Resources, members: int, prefix: str
) -> tuple[int, list[str]]:
    tokens = await crowd(resources, world.channel_id, members, prefix)
    pool = await open_pool(client, world)
    return int(pool["id"]), tokens


async def _run_push(resources: Resources, key: str) -> dict[str, int]:
    return await tasks.push_event({"resources": resources, "job_try": 1}, key)


async def test_a_pool_opened_in_a_big_channel_reaches_every_member_in_batches_of_500(
    client: httpx.AsyncClient,
    world: World,
    resources: Resources,
    push: FcmClient,
    fake_fcm: FakeFcm,
    run_jobs: RunJobs,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pool_id, tokens = await _open_for(client, world, resources, 1_201, "big")
    batches: list[int] = []
    send = push.send

    async def spy(pushes: Any) -> Any:
        batches.append(len(pushes))
        return await send(pushes)

    monkeypatch.setattr(push, "send", spy)
    await run_jobs()  # notification.pool_opened, then notification.push

    assert batches == [500, 500, 201]
    assert sorted(fake_fcm.tokens()) == sorted(tokens)
    message = fake_fcm.messages[0]
    assert message["notification"]["title"] == "New pool in Test channel"
    assert message["data"]["kind"] == "pool.opened"
    assert message["data"]["pool_id"] == str(pool_id)
    # Every member (the streamer who opened it is not told) has it in their inbox.
    [(count,)] = await rows(
        resources,
        "SELECT count(*) FROM notifications WHERE event_key = :k",
        k=f"pool.opened:{pool_id}",
    )
    assert count == 1_201  # the members (the world's viewers never joined)
    # Running the fan-out and the push again changes nothing.
    async with unit_of_work(resources) as session:
        assert await notification_service.pool_opened(session, pool_id) == 0
    assert (await _run_push(resources, f"pool.opened:{pool_id}"))["sent"] == 0
    assert len(fake_fcm.messages) == 1_201


async def test_dead_tokens_are_deleted_and_the_others_delivered(
    client: httpx.AsyncClient,
    world: World,
    resources: Resources,
    push: FcmClient,
    fake_fcm: FakeFcm,
    run_jobs: RunJobs,
) -> None:
    tokens = await crowd(resources, world.channel_id, 10, "dead")
    fake_fcm.fail_token(tokens[0], "UNREGISTERED")
    fake_fcm.fail_token(tokens[1], "SENDER_ID_MISMATCH")
    fake_fcm.fail_token(tokens[2], "INVALID_ARGUMENT")
    fake_fcm.fail_token(tokens[3], "THIRD_PARTY_AUTH_ERROR")
    await open_pool(client, world)
    await run_jobs()

    assert sorted(fake_fcm.tokens()) == sorted(tokens[4:])
    left = {token for (token,) in await rows(resources, "SELECT token FROM devices")}
    assert left == set(tokens[3:])  # the three dead ones are gone; an APNs misconfig is not theirs
    [(failed,)] = await rows(
        resources, "SELECT count(*) FROM notification_deliveries WHERE status = 'failed'"
    )
    assert failed == 1


async def test_quota_and_5xx_back_off_and_retry_only_what_failed(
    client: httpx.AsyncClient,
    world: World,
    resources: Resources,
    push: FcmClient,
    fake_fcm: FakeFcm,
) -> None:
    tokens = await crowd(resources, world.channel_id, 6, "retry")
    pool = await open_pool(client, world)
    async with unit_of_work(resources) as session:
        await notification_service.pool_opened(session, pool["id"])
    key = f"pool.opened:{pool['id']}"
    fake_fcm.fail_token(tokens[0], "QUOTA_EXCEEDED", times=1)
    fake_fcm.fail_token(tokens[1], "BAD_GATEWAY", times=2)
    # A 503 is retried by firebase-admin itself, at once: sent, once.
    fake_fcm.fail_token(tokens[2], "UNAVAILABLE", times=1)

    with pytest.raises(Retry) as first:
        await _run_push(resources, key)
    assert first.value.defer_score is not None  # backs off before the next try
    assert sorted(fake_fcm.tokens()) == sorted(tokens[2:])
    with pytest.raises(Retry):
        await _run_push(resources, key)  # the quota one now goes; the 502 fails again
    assert (await _run_push(resources, key))["sent"] == 1
    assert sorted(fake_fcm.tokens()) == sorted(tokens)
    assert set(fake_fcm.per_token().values()) == {1}
    retried = dict(
        await rows(
            resources,
            "SELECT d.token, x.attempts FROM notification_deliveries x"
            " JOIN devices d ON d.id = x.device_id WHERE x.status = 'sent'",
        )
    )
    assert (retried[tokens[0]], retried[tokens[1]], retried[tokens[2]]) == (2, 3, 1)
    [(state,)] = await rows(
        resources,
        "SELECT DISTINCT push_state FROM notifications n JOIN devices d ON d.user_id = n.user_id"
        " WHERE n.event_key = :k",
        k=key,
    )
    assert state == "done"


async def test_a_push_fcm_keeps_refusing_is_given_up_after_the_attempts(
    client: httpx.AsyncClient,
    world: World,
    resources: Resources,
    push: FcmClient,
    fake_fcm: FakeFcm,
) -> None:
    [token] = await crowd(resources, world.channel_id, 1, "stubborn")
    pool = await open_pool(client, world)
    async with unit_of_work(resources) as session:
        await notification_service.pool_opened(session, pool["id"])
    fake_fcm.fail_token(token, "BAD_GATEWAY")
    key = f"pool.opened:{pool['id']}"
    for _ in range(resources.settings.push_max_attempts - 1):
        with pytest.raises(Retry):
            await _run_push(resources, key)
    assert (await _run_push(resources, key))["retry"] == 1  # the last attempt: no Retry
    assert (await _run_push(resources, key))["retry"] == 0
    assert len(fake_fcm.requests) == resources.settings.push_max_attempts
    [(status, state)] = await rows(
        resources,
        "SELECT x.status, n.push_state FROM notification_deliveries x"
        " JOIN notifications n ON n.id = x.notification_id",
    )
    assert (status, state) == ("failed", "done")


async def test_kinds_turned_off_and_quiet_hours_hold_pushes_not_the_inbox(
    client: httpx.AsyncClient,
    world: World,
    resources: Resources,
    push: FcmClient,
    fake_fcm: FakeFcm,
    run_jobs: RunJobs,
) -> None:
    quiet, muted, plain = world.viewers[:3]
    for person, token in ((quiet, "quiet-token"), (muted, "muted-token"), (plain, "plain-token")):
        await add_device(resources, person.id, token)
        joined = await client.post(f"/api/v1/channels/{world.channel_id}/join", headers=person.auth)
        assert joined.is_success
    zone = "Asia/Tokyo"
    local = datetime.now(UTC).astimezone(ZoneInfo(zone))
    around_now = {
        "start": (local - timedelta(hours=1)).strftime("%H:%M"),
        "end": (local + timedelta(hours=1)).strftime("%H:%M"),
    }
    answer = await client.put(
        "/api/v1/me/notification-preferences",
        json={"quiet_hours": around_now, "time_zone": zone},
        headers=quiet.auth,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["quiet_hours"] == around_now
    answer = await client.put(
        "/api/v1/me/notification-preferences",
        json={"push": {"pool.opened": False}},
        headers=muted.auth,
    )
    assert answer.json()["push"]["pool.opened"] is False
    assert answer.json()["push"]["pool.won"] is True

    await open_pool(client, world)
    await run_jobs()
    assert fake_fcm.tokens() == ["plain-token"]
    for person in (quiet, muted, plain):  # everyone's inbox has it
        inbox = (await client.get("/api/v1/me/notifications", headers=person.auth)).json()
        assert [n["kind"] for n in inbox["notifications"]] == ["pool.opened"]
        assert inbox["unread"] == 1

    # The sweep while it is still quiet sends nothing; once quiet hours end, the held push goes.
    await tasks.sweep({"resources": resources})
    await run_jobs()
    assert fake_fcm.tokens() == ["plain-token"]
    await client.put(
        "/api/v1/me/notification-preferences", json={"quiet_hours": None}, headers=quiet.auth
    )
    assert await tasks.sweep({"resources": resources}) == 1
    await run_jobs()
    assert sorted(fake_fcm.tokens()) == ["plain-token", "quiet-token"]


async def test_a_winner_gets_a_you_won_row_and_one_push_per_device(
    client: httpx.AsyncClient,
    world: World,
    resources: Resources,
    push: FcmClient,
    fake_fcm: FakeFcm,
    run_jobs: RunJobs,
) -> None:
    winner, loser = world.viewers[:2]
    await add_device(resources, winner.id, "winner-phone", "ios")
    await add_device(resources, winner.id, "winner-browser", "web")
    await add_device(resources, loser.id, "loser-phone", "android")
    pool = await open_pool(client, world)
    await run_jobs()
    fake_fcm.messages.clear()
    yes, no = (o["id"] for o in pool["outcomes"])
    assert (await bet(client, winner, pool["id"], yes, 300, "w")).is_success
    assert (await bet(client, loser, pool["id"], no, 500, "l")).is_success
    owner = world.owner.auth
    await client.post(f"/api/v1/pools/{pool['id']}/lock", headers=owner)
    await client.post(
        f"/api/v1/pools/{pool['id']}/resolve", json={"outcome_id": yes}, headers=owner
    )
    await run_jobs()

    inbox = (await client.get("/api/v1/me/notifications", headers=winner.auth)).json()
    won = inbox["notifications"][0]
    assert won["kind"] == "pool.won" and won["title"] == "You won 800 points!"
    assert won["data"] == {"currency": world.currency, "stake": 300, "paid": 800, "outcome_id": yes}
    assert won["pool_id"] == pool["id"] and won["read_at"] is None
    lost = (await client.get("/api/v1/me/notifications", headers=loser.auth)).json()
    assert lost["notifications"][0]["kind"] == "pool.lost"
    assert sorted(fake_fcm.tokens()) == ["loser-phone", "winner-browser", "winner-phone"]
    assert {
        m["data"]["notification_id"] for m in fake_fcm.messages if m["token"] != "loser-phone"
    } == {str(won["id"])}


async def test_no_push_is_sent_twice_after_a_worker_is_killed_mid_batch(
    client: httpx.AsyncClient,
    world: World,
    resources: Resources,
    settings: Settings,
    push: FcmClient,
    fake_fcm: FakeFcm,
    run_jobs: RunJobs,
    tmp_path: Path,
) -> None:
    """A real worker process (its own firebase-admin app, from a service account key whose
    token endpoint is the fake's) is killed while FCM holds half of its second batch."""
    pool_id, tokens = await _open_for(client, world, resources, 1_200, "kill")
    resources.push = None  # the fan-out's own push job finds pushes off and sends nothing
    await run_jobs()
    resources.push = push
    key = f"pool.opened:{pool_id}"
    # The first batch, 200 of the second, then FCM stalls.
    held = await kill_mid_push(
        settings,
        fake_fcm,
        tmp_path,
        700,
        lambda: resources.jobs.enqueue_job("notification.push", key, _job_id=f"push-{key}"),
    )

    # arq runs the job again once the dead worker's lease runs out; here, at once.
    await resources.jobs.enqueue_job("notification.push", key, _job_id=f"again-{key}")
    await run_jobs()
    assert set(fake_fcm.per_token().values()) == {1}  # nobody got it twice
    assert len(fake_fcm.messages) == 700 + held + 200  # the third batch went on the rerun
    statuses = dict(
        await rows(
            resources,
            "SELECT status, count(*) FROM notification_deliveries GROUP BY status",
        )
    )
    # The batch in flight when the worker died stays claimed, whatever reached FCM of it:
    # never sent again (at most once per device, by design; the inbox has it either way).
    assert statuses == {"sent": 700, "sending": 500}
    in_flight = {
        token
        for (token,) in await rows(
            resources,
            "SELECT d.token FROM notification_deliveries x JOIN devices d ON d.id = x.device_id"
            " WHERE x.status = 'sending'",
        )
    }
    assert set(tokens) - set(fake_fcm.tokens()) <= in_flight


async def test_without_credentials_the_inbox_works_and_nothing_is_pushed(
    client: httpx.AsyncClient,
    world: World,
    resources: Resources,
    fake_fcm: FakeFcm,
    run_jobs: RunJobs,
) -> None:
    viewer = world.viewers[0]
    await add_device(resources, viewer.id, "no-push")
    async with unit_of_work(resources) as session:
        await notification_service.notify(
            session,
            [viewer.id],
            kind=NotificationKind.deposit_credited,
            event_key="deposit.credited:test",
            title="Deposit credited",
            body="25.00 USD is in your wallet.",
        )
    assert resources.push is None
    await run_jobs()
    inbox = (await client.get("/api/v1/me/notifications", headers=viewer.auth)).json()
    assert [n["title"] for n in inbox["notifications"]] == ["Deposit credited"]
    assert fake_fcm.requests == []


async def test_bettors_hear_once_that_a_pool_locks_soon(
    client: httpx.AsyncClient,
    world: World,
    resources: Resources,
    push: FcmClient,
    fake_fcm: FakeFcm,
    run_jobs: RunJobs,
) -> None:
    bettor, idle = world.viewers[:2]
    await add_device(resources, bettor.id, "bettor-phone")
    await add_device(resources, idle.id, "idle-phone")
    soon = await open_pool(client, world, window_seconds=45)  # within the 60 s lead
    later = await open_pool(client, world, window_seconds=600)
    for pool in (soon, later):
        placed = await bet(
            client, bettor, pool["id"], pool["outcomes"][0]["id"], 50, f"b{pool['id']}"
        )
        assert placed.is_success
    await run_jobs()
    fake_fcm.messages.clear()

    for _ in range(2):  # the cron runs every few seconds: once per pool all the same
        await resources.jobs.enqueue_job("notification.locking_soon")
        await run_jobs()
    assert [(m["token"], m["data"]["kind"]) for m in fake_fcm.messages] == [
        ("bettor-phone", "pool.locking")
    ]
    assert fake_fcm.messages[0]["data"]["pool_id"] == str(soon["id"])
    inbox = (await client.get("/api/v1/me/notifications", headers=bettor.auth)).json()
    locking = [n for n in inbox["notifications"] if n["kind"] == "pool.locking"]
    assert [n["pool_id"] for n in locking] == [soon["id"]]
    assert locking[0]["title"] == f"Locking soon: {soon['title']}"
