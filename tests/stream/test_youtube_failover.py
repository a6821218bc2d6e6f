"""Two real integrations workers (``streampools integrations``, as production runs them) share a
YouTube live chat served by the fake YouTube Data API: one polls it, the other does not. The
one polling is killed (SIGKILL, no goodbye) mid-stream and the other takes the chat over within
the lease, from where the first left off; or it is stopped (SIGTERM) and gives the lease up, so
the other takes over at once. Either way every viewer's ``!bet`` runs exactly once: none lost,
none twice (commands are deduplicated on YouTube's message id). An arq worker beside them runs
the inbox jobs, as in production."""

import signal
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from app.command.service import chat_bet_key
from app.inbox.service import handle_job_id
from app.kit.resources import Resources
from app.kit.uow import read_session
from app.models.channel import Platform
from app.models.command import ChatCommand
from app.models.inbox import InboxEvent
from app.models.pool import Bet, BetPlacement
from app.settings import Settings
from app.stream.youtube import PAGE, POLLER_LEASE, youtube_service
from tests.conftest import running_worker
from tests.fakes.youtube import FakeYouTube
from tests.fakes.youtube.server import Chat
from tests.stream.test_youtube import BROADCASTER, YouTubeStream, _open_pool, stream
from tests.workers.replicas import Replica, replica, wait_for

__all__ = ["stream"]

#: The failover test's lease: a dead replica's chat is taken over within it.
SHORT_LEASE_SECONDS = 2
#: The clean-stop test's lease: long, so only a lease given up explains a quick takeover.
LONG_LEASE_SECONDS = 60
STAKE = 10
#: Enough units that the quota planner waits only the shortest interval between polls.
UNITS_PER_DAY = 10_000_000


@pytest.fixture
def settings(database_url: str, redis_url: str, fake_youtube: FakeYouTube) -> Settings:
    fake_youtube.quota = UNITS_PER_DAY
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        youtube_client_id=fake_youtube.client_id,
        youtube_client_secret=SecretStr(fake_youtube.client_secret),
        google_oauth_base=fake_youtube.url,
        google_accounts_base=fake_youtube.url,
        youtube_api_base=fake_youtube.api_url,
        youtube_min_poll_seconds=0.5,
        youtube_quota_units_per_day=UNITS_PER_DAY,
    )


def _environment(settings: Settings, lease_seconds: float) -> dict[str, str]:
    """The replicas' settings, from the environment as in production."""
    return {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "STREAMPOOLS_YOUTUBE_CLIENT_ID": settings.youtube_client_id,
        "STREAMPOOLS_YOUTUBE_CLIENT_SECRET": settings.youtube_client_secret.get_secret_value(),
        "STREAMPOOLS_GOOGLE_OAUTH_BASE": settings.google_oauth_base,
        "STREAMPOOLS_GOOGLE_ACCOUNTS_BASE": settings.google_accounts_base,
        "STREAMPOOLS_YOUTUBE_API_BASE": settings.youtube_api_base,
        "STREAMPOOLS_YOUTUBE_POLLER_LEASE_SECONDS": str(lease_seconds),
        "STREAMPOOLS_YOUTUBE_MIN_POLL_SECONDS": str(settings.youtube_min_poll_seconds),
        "STREAMPOOLS_YOUTUBE_QUOTA_UNITS_PER_DAY": str(settings.youtube_quota_units_per_day),
    }


@contextmanager
def _replicas(
    settings: Settings, lease_seconds: float, logs: Path
) -> Iterator[tuple[Replica, Replica]]:
    with ExitStack() as stack:
        environment = _environment(settings, lease_seconds)
        yield (
            stack.enter_context(replica(environment, logs / "replica-a.log")),
            stack.enter_context(replica(environment, logs / "replica-b.log")),
        )


async def _live(stream: YouTubeStream) -> tuple[dict[str, object], Chat]:
    """An open pool, and the broadcast live with a chat YouTube asks to poll every 300 ms."""
    pool = await _open_pool(stream)
    chat = stream.youtube.go_live(BROADCASTER, interval_ms=300)
    report = await youtube_service.check_live(stream.resources, force=True)
    assert report["online"] == 1, report
    return pool, chat


async def _holder(resources: Resources, chat: Chat, a: Replica, b: Replica) -> Replica:
    """Once one replica polls the chat (its history read) and the other runs and polls
    nothing: the one polling it."""
    polled: dict[int, float | None] = {}

    async def one_polls() -> bool:
        polled[0], polled[1] = await a.chats_polled(), await b.chats_polled()
        history_read = await resources.redis.exists(PAGE.format(chat=chat.live_chat_id))
        return {polled[0], polled[1]} == {0.0, 1.0} and bool(history_read)

    await wait_for(one_polls, "one replica to poll the chat and the other to run idle")
    return a if polled[0] == 1.0 else b


def _say_bets(stream: YouTubeStream, chat: Chat, numbers: range) -> list[str]:
    return [
        stream.youtube.say(chat, f"UCviewer{n}", f"Viewer{n}", f"!bet 1 {STAKE}")["id"]
        for n in numbers
    ]


async def _viewer_events(resources: Resources) -> list[str]:
    """The viewers' chat messages in the inbox (the bot's answers, read from the chat, aside)."""
    async with read_session(resources) as session:
        rows = await session.execute(
            select(InboxEvent.external_id, InboxEvent.payload).where(
                InboxEvent.source == "youtube", InboxEvent.event_type == "chat.message"
            )
        )
        return [
            message_id
            for message_id, payload in rows
            if payload["author"]["user_id"].startswith("UCviewer")
        ]


async def _commands(resources: Resources) -> list[tuple[str, str]]:
    async with read_session(resources) as session:
        rows = await session.execute(
            select(ChatCommand.message_id, ChatCommand.result).where(
                ChatCommand.platform == Platform.youtube,
                ChatCommand.platform_user_id.like("UCviewer%"),
            )
        )
        return [(message_id, result) for message_id, result in rows]


async def _all_carried_out(stream: YouTubeStream, said: list[str]) -> None:
    """Every message read and its command run. A job lost with a killed replica (between its
    commit and its enqueue) is queued again as the inbox sweep does, without its 30 s wait."""
    resources = stream.resources

    async def all_read() -> bool:
        return set(await _viewer_events(resources)) >= set(said)

    await wait_for(all_read, "every message to be read")
    async with read_session(resources) as session:
        unhandled = await session.scalars(
            select(InboxEvent.id).where(
                InboxEvent.source == "youtube", InboxEvent.handled_at.is_(None)
            )
        )
        for inbox_id in unhandled:
            await resources.jobs.enqueue_job(
                "inbox.handle", inbox_id, _job_id=handle_job_id(inbox_id)
            )

    async def all_ran() -> bool:
        return len(await _commands(resources)) >= len(said)

    await wait_for(all_ran, "every command to run")


async def _assert_each_once(
    stream: YouTubeStream, pool: dict[str, object], said: list[str]
) -> None:
    resources = stream.resources
    assert sorted(await _viewer_events(resources)) == sorted(said)  # each read once
    assert sorted(await _commands(resources)) == sorted((m, "ok") for m in said)
    async with read_session(resources) as session:
        keys = list(
            await session.scalars(
                select(BetPlacement.idempotency_key).where(BetPlacement.pool_id == pool["id"])
            )
        )
        bets = (
            await session.execute(
                select(func.count(), func.sum(Bet.amount)).where(Bet.pool_id == pool["id"])
            )
        ).one()
    assert sorted(keys) == sorted(chat_bet_key("youtube", m) for m in said)
    # One bettor per message, each bet placed once.
    assert tuple(bets) == (len(said), STAKE * len(said))


async def test_a_killed_replicas_chat_is_taken_over_and_no_command_is_lost_or_run_twice(
    stream: YouTubeStream, settings: Settings, tmp_path: Path
) -> None:
    resources = stream.resources
    redis = resources.redis
    lease = POLLER_LEASE.format(channel=BROADCASTER)
    said: list[str] = []
    async with running_worker(resources):
        with _replicas(settings, SHORT_LEASE_SECONDS, tmp_path) as (a, b):
            pool, chat = await _live(stream)  # while the replicas start
            holder = await _holder(resources, chat, a, b)
            other = b if holder is a else a
            fence = int(await redis.get(lease))

            said += _say_bets(stream, chat, range(5))

            async def first_ran() -> bool:
                return len(await _commands(resources)) == 5

            await wait_for(first_ran, "the first five commands to run")
            # Said as the holder dies: it may have read none, some or all of them.
            said += _say_bets(stream, chat, range(5, 10))
            holder.process.send_signal(signal.SIGKILL)
            assert holder.process.wait(5) == -signal.SIGKILL

            async def taken_over() -> bool:
                current = await redis.get(lease)
                return (
                    current is not None
                    and int(current) > fence
                    and await other.chats_polled() == 1.0
                )

            await wait_for(taken_over, "the other replica to take the chat over")
            said += _say_bets(stream, chat, range(10, 15))
            await _all_carried_out(stream, said)
            assert other.process.poll() is None
    await _assert_each_once(stream, pool, said)


async def test_a_stopped_replica_gives_its_chat_up_and_the_other_takes_it_over_at_once(
    stream: YouTubeStream, settings: Settings, tmp_path: Path
) -> None:
    resources = stream.resources
    redis = resources.redis
    lease = POLLER_LEASE.format(channel=BROADCASTER)
    said: list[str] = []
    async with running_worker(resources):
        with _replicas(settings, LONG_LEASE_SECONDS, tmp_path) as (a, b):
            pool, chat = await _live(stream)  # while the replicas start
            holder = await _holder(resources, chat, a, b)
            other = b if holder is a else a
            fence = int(await redis.get(lease))
            said += _say_bets(stream, chat, range(3))

            async def first_ran() -> bool:
                return len(await _commands(resources)) == 3

            await wait_for(first_ran, "the first commands to run")
            holder.process.send_signal(signal.SIGTERM)
            assert holder.process.wait(15) == 0
            # Given up on the way out: no longer the stopped replica's, though its 60 s
            # lease would still run for most of a minute.
            current = await redis.get(lease)
            assert current is None or int(current) > fence
            stopped = [line["message"] for line in holder.lines()]
            assert any("stopped: its leases given up" in str(m) for m in stopped), stopped

            async def taken_over() -> bool:
                return await other.chats_polled() == 1.0

            await wait_for(taken_over, "the other replica to take the chat over", within=20)
            said += _say_bets(stream, chat, range(3, 6))
            await _all_carried_out(stream, said)
    await _assert_each_once(stream, pool, said)
