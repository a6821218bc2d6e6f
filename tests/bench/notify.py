"""Notify benchmark: a pool opens in a channel of 100,000 members, each with a device. The
fan-out writes every member's inbox row (one INSERT ... SELECT); its commit enqueues the push job,
which two arq worker processes run as production runs them: the event's users are split into
ranges that lanes (jobs both workers run side by side) take one after the other, sending each
device's push through firebase-admin to the fake FCM (its own process), 500 a call, claiming
each batch first. Timed from the pool's commit. Target: every member notified, inbox and push,
in under 30 s.

References, measured in the same run against the same servers: the inbox statement's own cost
(the same INSERT ... SELECT for another event, straight through psql: what PostgreSQL needs,
without our Python around it), and the fake FCM's request rate from plain client loops (the same
message body and bearer token, no firebase-admin, no database): aiohttp in as many processes as
there are workers, each with as many connections as a worker keeps, which is what the fake and
the loopback can take; and httpx with 500 requests in flight, the client firebase-admin brings.
The CPU each process spent while the pushes went out shows where the time goes."""

import asyncio
import json
import multiprocessing
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import httpx
from arq.constants import job_key_prefix
from arq.jobs import Job
from pydantic import SecretStr
from sqlalchemy import text

from app.auth.tokens import Principal
from app.kit.embedded import _postgres_bin, free_port
from app.kit.jobs import deserialize
from app.kit.resources import open_resources
from app.kit.uow import unit_of_work
from app.models.channel import Channel
from app.models.user import Role
from app.notification.service import push_job_id
from app.settings import Settings
from integrations.firebase.client import MAX_CONNECTIONS
from tests.bench import report
from tests.bench.stack import Stack, cpu_seconds, embedded_stack, machine_busy_seconds
from tests.factories import create_channel, create_pool, create_user

#: `NOTIFY_MEMBERS=20000 make bench ONLY=notify` for a quicker look; the target is for 100,000.
MEMBERS = int(os.environ.get("NOTIFY_MEMBERS") or 100_000)
PROJECT = "streampools-bench"
#: arq worker processes, one per core (as many as the machine has, at most 2 here).
WORKERS = 2
#: Requests each plain aiohttp process sends to the fake; the httpx loop's requests.
REFERENCE_REQUESTS = 10_000
HTTPX_REQUESTS = 2_500
PUSH_TIMEOUT_SECONDS = 600
MESSAGE = {
    "token": "reference-token",
    "notification": {"title": "New pool in Bench", "body": "Place your bet"},
    "data": {"notification_id": "1", "kind": "pool.opened"},
}


async def seed(settings: Settings) -> tuple[int, int]:
    """The channel and its members with one device each; the owner's and channel's ids."""
    resources = await open_resources(settings)
    try:
        async with unit_of_work(resources) as session:
            owner = await create_user(session, settings)
            channel = await create_channel(session, owner.id)
            await session.execute(
                text(
                    "WITH made AS ("
                    " INSERT INTO users (email, display_name)"
                    " SELECT 'member' || n || '@example.com', 'Member ' || n"
                    " FROM generate_series(1, :n) AS n RETURNING id"
                    "), joined AS ("
                    " INSERT INTO channel_members (channel_id, user_id)"
                    " SELECT :channel, id FROM made RETURNING user_id"
                    ") INSERT INTO devices (user_id, token, platform)"
                    " SELECT user_id, 'bench-token-' || md5(user_id::text) || user_id, 'android'"
                    " FROM joined"
                ),
                {"n": MEMBERS, "channel": channel.id},
            )
            await session.execute(text("ANALYZE"))
        return owner.id, channel.id
    finally:
        await resources.close()


async def open_pool(settings: Settings, owner_id: int, channel_id: int) -> tuple[int, float]:
    """A pool opened in the channel through the service: its commit enqueues the fan-out job
    (every member's inbox row, one statement), whose commit enqueues the push job. The pool's
    id and when it committed (``time.perf_counter()``)."""
    resources = await open_resources(settings)
    try:
        async with unit_of_work(resources) as session:
            channel = await session.get(Channel, channel_id)
            assert channel is not None
            pool = await create_pool(
                session,
                resources,
                channel,
                title="Will she beat the boss first try?",
                outcomes=["Yes", "No"],
                actor=Principal(owner_id, Role.admin),
            )
        return pool.id, time.perf_counter()
    finally:
        await resources.close()


@dataclass
class Notified:
    #: From the pool's commit until the last push is recorded.
    seconds: float
    #: The fan-out job's own run (the inbox rows), and the rows it wrote.
    inbox_seconds: float
    rows: int
    #: From the fan-out job's end until the last push is recorded.
    push_seconds: float
    parts: int
    sent: int
    devices: int


async def wait_notified(settings: Settings, pool_id: int, since: float) -> Notified:
    """Until the fan-out job, the push job and every part it made are done (their arq
    results are in), timed from ``since`` (the pool's commit); the pushes recorded as sent and
    the devices with a delivery record."""
    resources = await open_resources(settings)
    key = f"pool.opened:{pool_id}"
    try:
        fan_out = Job(
            f"notification.pool_opened:{pool_id}", resources.jobs, _deserializer=deserialize
        )
        async with asyncio.timeout(PUSH_TIMEOUT_SECONDS):
            while (written := await fan_out.result_info()) is None:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
        assert written.success, written.result
        fanned_out = time.perf_counter()
        parent = Job(push_job_id(key), resources.jobs, _deserializer=deserialize)
        parts = 0
        async with asyncio.timeout(PUSH_TIMEOUT_SECONDS):
            while (info := await parent.result_info()) is None:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            assert info.success, info.result
            parts = int(info.result["parts"])
            # Done when no push job of the event is queued or running: its parts, and any the
            # sweep added (a part enqueues nothing; the parent enqueued its parts before it
            # ended).
            while await resources.jobs.keys(f"{job_key_prefix}{push_job_id(key)}:*"):  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        ended = time.perf_counter()
        async with unit_of_work(resources) as session:
            sent, devices = (
                await session.execute(
                    text(
                        "SELECT count(*) FILTER (WHERE x.status = 'sent'),"
                        " count(DISTINCT x.device_id) FROM notification_deliveries x"
                        " JOIN notifications n ON n.id = x.notification_id"
                        " WHERE n.event_key = :key"
                    ),
                    {"key": key},
                )
            ).one()
        return Notified(
            seconds=ended - since,
            inbox_seconds=(written.finish_time - written.start_time).total_seconds(),
            rows=int(written.result),
            push_seconds=ended - fanned_out,
            parts=max(parts, 1),
            sent=int(sent),
            devices=int(devices),
        )
    finally:
        await resources.close()


def insert_through_psql(stack: Stack, pool_id: int) -> float:
    """The fan-out's statement for another event key, alone, through psql."""
    statement = (
        "INSERT INTO notifications (user_id, kind, event_key, title, body, link, channel_id,"
        " pool_id, data, push_state)"
        " SELECT m.user_id, 'pool.opened', 'reference', 'New pool', 'Place your bet', '/c/x',"
        f" m.channel_id, {pool_id}, '{{}}'::jsonb,"
        " CASE WHEN 'pool.opened' = ANY(p.push_off) THEN 'off' ELSE 'pending' END"
        " FROM channel_members m LEFT JOIN notification_preferences p ON p.user_id = m.user_id"
        f" WHERE m.channel_id = (SELECT channel_id FROM pools WHERE id = {pool_id})"
        " ON CONFLICT (event_key, user_id) DO NOTHING"
    )
    started = time.perf_counter()
    subprocess.run(
        [
            str(_postgres_bin() / "psql"),
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
            "-p",
            str(stack.postgres.port),
            "-U",
            "postgres",
            "-d",
            stack.database,
            "-c",
            statement,
        ],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def _plain_client(url: str, requests: int, connections: int, at: float) -> tuple[float, float]:
    """One process of the plain aiohttp reference: ``requests`` sends, ``connections`` at a
    time, from wall-clock time ``at``; its start and end."""

    async def run() -> tuple[float, float]:
        endpoint = f"{url}/v1/projects/{PROJECT}/messages:send"
        headers = {"Authorization": "Bearer reference", "Content-Type": "application/json"}
        body = json.dumps({"message": MESSAGE}).encode()
        connector = aiohttp.TCPConnector(limit=connections)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def lane(count: int) -> None:
                for _ in range(count):
                    async with session.post(endpoint, data=body, headers=headers) as answer:
                        await answer.read()
                        assert answer.status == 200, answer.status

            await asyncio.sleep(max(0.0, at - time.time()))
            started = time.time()
            await asyncio.gather(*(lane(requests // connections) for _ in range(connections)))
            return started, time.time()

    return asyncio.run(run())


def plain_aiohttp_rate(url: str) -> float:
    """Requests a second the fake answers to plain aiohttp loops, as many processes as there
    are workers side by side, each with a worker's connections."""
    at = time.time() + 3  # every process started and imported by then
    with multiprocessing.get_context("spawn").Pool(WORKERS) as processes:
        spans = processes.starmap(
            _plain_client, [(url, REFERENCE_REQUESTS, MAX_CONNECTIONS, at)] * WORKERS
        )
    first = min(start for start, _ in spans)
    last = max(end for _, end in spans)
    return WORKERS * REFERENCE_REQUESTS / (last - first)


async def httpx_rate(url: str) -> float:
    """Requests a second a plain httpx loop gets from the fake, 500 in flight."""
    endpoint = f"{url}/v1/projects/{PROJECT}/messages:send"
    headers = {"Authorization": "Bearer reference"}
    async with httpx.AsyncClient(timeout=30) as client:
        started = time.perf_counter()
        for _ in range(HTTPX_REQUESTS // 500):
            answers = await asyncio.gather(
                *(
                    client.post(endpoint, json={"message": MESSAGE}, headers=headers)
                    for _ in range(500)
                )
            )
            assert all(a.status_code == 200 for a in answers)
        return HTTPX_REQUESTS / (time.perf_counter() - started)


def start_fake(root: Path) -> tuple[subprocess.Popen[str], str, Path]:
    port = free_port()
    key = root / "fake-fcm.json"
    fake = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fakes.fcm",
            "--port",
            str(port),
            "--project",
            PROJECT,
            "--credentials",
            str(key),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert fake.stdout is not None
    line = fake.stdout.readline()
    assert "fake FCM on" in line, line
    return fake, f"http://127.0.0.1:{port}", key


def start_workers(stack: Stack, url: str, key: Path) -> list[subprocess.Popen[bytes]]:
    """The arq workers as production starts them, pushes on to the fake; once each has
    started (it logs whether pushes are on)."""
    env = {
        **os.environ,
        "DATABASE_URL": stack.database_url,
        "REDIS_URL": stack.redis.url,
        "STREAMPOOLS_FIREBASE_CREDENTIALS": str(key),
        "STREAMPOOLS_FCM_API_BASE": url,
        "STREAMPOOLS_LOG_LEVEL": "INFO",
    }
    logs = [stack.root / f"worker-{n}.log" for n in range(WORKERS)]
    workers = []
    for log in logs:
        with log.open("wb") as output:
            workers.append(
                subprocess.Popen(
                    [sys.executable, "-m", "arq", "workers.settings.WorkerSettings"],
                    env=env,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                )
            )
    deadline = time.monotonic() + 60
    while not all("push notifications through FCM" in log.read_text() for log in logs):
        assert time.monotonic() < deadline, [log.read_text()[-2000:] for log in logs]
        assert all(worker.poll() is None for worker in workers), "a worker died at start"
        time.sleep(0.1)
    time.sleep(1)  # past start-up: polling the queue
    return workers


def postmaster(stack: Stack) -> int:
    return int((stack.postgres.pgdata / "postmaster.pid").read_text().split()[0])


def main() -> None:
    report.header(
        f"notify: a pool opens in a channel of {MEMBERS:,} members (inbox + push)",
        __doc__ or "",
    )
    with embedded_stack("bench_notify") as stack:
        fake, url, key = start_fake(stack.root)
        workers: list[subprocess.Popen[bytes]] = []
        try:
            settings = Settings(
                database_url=stack.database_url,
                redis_url=stack.redis.url,
                firebase_credentials=SecretStr(str(key)),
                fcm_api_base=url,
            )
            print(f"seeding {MEMBERS:,} members with a device each ...")
            owner_id, channel_id = asyncio.run(seed(settings))
            workers = start_workers(stack, url, key)
            processes = {
                **{f"worker {n + 1}": w.pid for n, w in enumerate(workers)},
                "fake FCM": fake.pid,
                "PostgreSQL": postmaster(stack),
            }
            machine = machine_busy_seconds()
            cpu = {name: cpu_seconds(pid) for name, pid in processes.items()}
            pool_id, committed = asyncio.run(open_pool(settings, owner_id, channel_id))
            pushed = asyncio.run(wait_notified(settings, pool_id, committed))
            cpu = {name: cpu_seconds(pid) - cpu[name] for name, pid in processes.items()}
            machine = machine_busy_seconds() - machine
            for worker in workers:
                worker.terminate()
            for worker in workers:
                worker.wait(30)
            psql_seconds = insert_through_psql(stack, pool_id)
            plain_rate = plain_aiohttp_rate(url)
            httpx_reference = asyncio.run(httpx_rate(url))
            received = json.loads(httpx.get(f"{url}/_fake/messages", timeout=60).text)
            pushed_to = {m["token"] for m in received["messages"]} - {"reference-token"}
        finally:
            for worker in workers:
                if worker.poll() is None:
                    worker.kill()
            fake.terminate()
            fake.wait(10)
    rows = pushed.rows
    push_rate = pushed.sent / pushed.push_seconds
    report.columns("ours", "reference")
    report.row(
        "inbox rows (the fan-out job's statement)",
        f"{rows:,} in {pushed.inbox_seconds:.2f} s",
        f"psql {psql_seconds:.2f} s",
    )
    report.row(
        "inbox rows/s", f"{rows / pushed.inbox_seconds:,.0f}", f"{MEMBERS / psql_seconds:,.0f}"
    )
    report.row(
        f"pushes/s ({WORKERS} workers, {pushed.parts} ranges)",
        f"{push_rate:,.0f}",
        f"plain aiohttp {plain_rate:,.0f}",
    )
    report.row("", "", f"({WORKERS} processes x {MAX_CONNECTIONS})")
    report.row("", "", f"httpx 500 in flight {httpx_reference:,.0f}")
    report.row("pushes sent / devices reached once", f"{pushed.sent:,}", f"{len(pushed_to):,}")
    for name, seconds in cpu.items():
        report.row(
            f"CPU, pool opened to last push: {name}",
            f"{seconds:.1f} s ({seconds / max(pushed.sent, 1) * 1e6:,.0f} us/push)",
            "",
        )
    report.row(
        "the machine's busy time (every process)",
        f"{machine:.1f} of {pushed.seconds * (os.cpu_count() or 1):.1f} core-s",
        "",
    )
    report.row("pool opened to every member notified", f"{pushed.seconds:.2f} s", "")
    report.verdict(
        f"{MEMBERS:,} members notified (inbox + push) in under 30 s",
        pushed.seconds < 30
        and rows == MEMBERS
        and pushed.sent == MEMBERS == len(pushed_to) == pushed.devices,
        f"{pushed.seconds:.2f} s, {rows:,} rows, {pushed.sent:,} pushes",
    )
