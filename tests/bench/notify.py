"""Notify benchmark: a pool opens in a channel of 100,000 members, each with a device. The
fan-out writes every member's inbox row (one INSERT ... SELECT), then the push job sends them
through firebase-admin to the fake FCM (its own process), 500 a call, claiming each batch
first. Target: every member notified, inbox and push, in under 30 s.

References, measured in the same run against the same servers: the inbox statement's own cost
(the same INSERT ... SELECT for another event, straight through psql: what PostgreSQL needs,
without our Python around it), and the fake FCM's own request rate from a plain httpx loop
(500 requests in flight, the same message body, no firebase-admin, no database): what the
fake and the loopback can take, so the push rate can be read against the ceiling it runs
under rather than against Google, which we cannot measure here."""

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
from pydantic import SecretStr
from sqlalchemy import text

from app.auth.tokens import Principal
from app.kit.embedded import _postgres_bin, free_port
from app.kit.resources import open_resources
from app.kit.uow import unit_of_work
from app.models.user import Role
from app.notification.service import notification_service
from app.settings import Settings
from tests.bench import report
from tests.bench.stack import Stack, embedded_stack
from tests.factories import create_channel, create_pool, create_user

MEMBERS = 100_000
PROJECT = "streampools-bench"
REFERENCE_REQUESTS = 5_000


async def seed(settings: Settings) -> int:
    """The channel, its members with one device each, and a draft pool; its id."""
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
        async with unit_of_work(resources) as session:
            pool = await create_pool(
                session,
                resources,
                channel,
                title="Will she beat the boss first try?",
                outcomes=["Yes", "No"],
                actor=Principal(owner.id, Role.admin),
            )
        return pool.id
    finally:
        await resources.close()


async def notify(settings: Settings, pool_id: int) -> tuple[float, float, int, int]:
    """Fan-out seconds, push seconds, rows written, pushes sent."""
    resources = await open_resources(settings)
    try:
        started = time.perf_counter()
        async with unit_of_work(resources) as session:
            created = await notification_service.pool_opened(session, pool_id)
        written = time.perf_counter()
        pushed = await notification_service.push(resources, f"pool.opened:{pool_id}")
        done = time.perf_counter()
        return written - started, done - written, created, pushed.sent
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


async def raw_http_rate(url: str) -> float:
    """Requests a second a plain httpx loop gets from the fake, 500 in flight."""
    body = {
        "message": {
            "token": "reference-token",
            "notification": {"title": "New pool in Bench", "body": "Place your bet"},
            "data": {"notification_id": "1", "kind": "pool.opened"},
        }
    }
    endpoint = f"{url}/v1/projects/{PROJECT}/messages:send"
    headers = {"Authorization": "Bearer reference"}
    async with httpx.AsyncClient(timeout=30) as client:
        started = time.perf_counter()
        for _ in range(REFERENCE_REQUESTS // 500):
            answers = await asyncio.gather(
                *(client.post(endpoint, json=body, headers=headers) for _ in range(500))
            )
            assert all(a.status_code == 200 for a in answers)
        return REFERENCE_REQUESTS / (time.perf_counter() - started)


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


def main() -> None:
    report.header(
        f"notify: a pool opens in a channel of {MEMBERS:,} members (inbox + push)",
        __doc__ or "",
    )
    with embedded_stack("bench_notify") as stack:
        fake, url, key = start_fake(stack.root)
        try:
            settings = Settings(
                database_url=stack.database_url,
                redis_url=stack.redis.url,
                firebase_credentials=SecretStr(str(key)),
                fcm_api_base=url,
            )
            print(f"seeding {MEMBERS:,} members with a device each ...")
            pool_id = asyncio.run(seed(settings))
            fan_out, push, rows, sent = asyncio.run(notify(settings, pool_id))
            psql_seconds = insert_through_psql(stack, pool_id)
            raw_rate = asyncio.run(raw_http_rate(url))
            received = json.loads(httpx.get(f"{url}/_fake/messages", timeout=60).text)
            pushed_to = {m["token"] for m in received["messages"]} - {"reference-token"}
        finally:
            fake.terminate()
            fake.wait(10)
    total = fan_out + push
    report.columns("ours", "reference")
    report.row(
        "inbox rows (one INSERT ... SELECT)",
        f"{rows:,} in {fan_out:.2f} s",
        f"psql {psql_seconds:.2f} s",
    )
    report.row("inbox rows/s", f"{rows / fan_out:,.0f}", f"{MEMBERS / psql_seconds:,.0f}")
    report.row(
        "pushes/s (firebase-admin, claimed, recorded)",
        f"{sent / push:,.0f}",
        f"raw httpx {raw_rate:,.0f}",
    )
    report.row("pushes sent / devices reached once", f"{sent:,}", f"{len(pushed_to):,}")
    report.row("members notified, inbox + push", f"{total:.2f} s", "")
    report.verdict(
        f"{MEMBERS:,} members notified (inbox + push) in under 30 s",
        total < 30 and rows == MEMBERS and sent == MEMBERS == len(pushed_to),
        f"{total:.2f} s, {rows:,} rows, {sent:,} pushes",
    )
