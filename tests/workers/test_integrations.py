"""The integrations worker as production runs it (``streampools integrations``): it says at start
what it runs and what is off, serves its own metrics, stops cleanly on SIGTERM, exits non-zero
when it cannot start, and `make run` (``streampools run``) starts, supervises and stops it with
the web and worker processes. The arq worker no longer runs the platforms' long-lived tasks."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from app.kit.embedded import free_port
from app.kit.migrate import PROJECT_ROOT
from app.settings import Settings
from tests.fakes.youtube import FakeYouTube
from tests.workers.replicas import replica, wait_for
from workers import settings as worker_settings
from workers.integrations import integrations

YOUTUBE = "youtube-chat-pollers"
TWITCH = "twitch-eventsub-websocket"


def _youtube(fake: FakeYouTube) -> dict[str, str]:
    return {
        "STREAMPOOLS_YOUTUBE_CLIENT_ID": fake.client_id,
        "STREAMPOOLS_YOUTUBE_CLIENT_SECRET": fake.client_secret,
        "STREAMPOOLS_GOOGLE_OAUTH_BASE": fake.url,
        "STREAMPOOLS_GOOGLE_ACCOUNTS_BASE": fake.url,
        "STREAMPOOLS_YOUTUBE_API_BASE": fake.api_url,
    }


def test_each_integration_runs_only_when_configured() -> None:
    def chosen(settings: Settings) -> dict[str, str | None]:
        return {i.name: (None if i.start is not None else i.off) for i in integrations(settings)}

    nothing = chosen(Settings())
    assert set(nothing) == {YOUTUBE, TWITCH}
    assert "STREAMPOOLS_YOUTUBE_CLIENT_ID" in str(nothing[YOUTUBE])
    assert "Twitch is not configured" in str(nothing[TWITCH])
    youtube = Settings(youtube_client_id="id", youtube_client_secret=SecretStr("secret"))
    assert chosen(youtube)[YOUTUBE] is None
    webhook = Settings(twitch_client_id="id", twitch_eventsub_transport="webhook")
    assert "by webhook" in str(chosen(webhook)[TWITCH])
    websocket = Settings(twitch_client_id="id", twitch_eventsub_transport="websocket")
    assert chosen(websocket)[TWITCH] is None


def test_the_arq_worker_starts_no_long_lived_task() -> None:
    source = Path(worker_settings.__file__).read_text()
    for name in ("ChatPollers", "EventSubListener"):
        assert name not in source


async def test_it_says_what_it_runs_serves_its_metrics_and_stops_on_sigterm(
    settings: Settings, fake_youtube: FakeYouTube, tmp_path: Path
) -> None:
    environment = {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        **_youtube(fake_youtube),
    }
    with replica(environment, tmp_path / "integrations.log") as running:

        async def serving() -> bool:
            return (
                await running.metric("streampools_integrations_running", {"integration": YOUTUBE})
                == 1.0
            )

        await wait_for(serving, "its metrics")
        assert (
            await running.metric("streampools_integrations_running", {"integration": TWITCH}) == 0.0
        )
        assert await running.chats_polled() == 0.0
        [started] = [line for line in running.lines() if "started" in str(line["message"])]
        assert f"running {YOUTUBE}; off: {TWITCH} (Twitch is not configured" in str(
            started["message"]
        )
        assert started["running"] == [YOUTUBE] and started["off"] == [TWITCH]
        running.process.send_signal(signal.SIGTERM)
        assert running.process.wait(15) == 0
    assert any("stopped" in str(line["message"]) for line in running.lines())


async def test_it_exits_non_zero_when_redis_cannot_be_reached(
    settings: Settings, tmp_path: Path
) -> None:
    environment = {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
    }
    with replica(environment, tmp_path / "integrations.log") as failing:
        assert failing.process.wait(30) == 1
    [line] = [line for line in failing.lines() if line["level"] == "error"]
    assert "cannot start" in str(line["message"])


async def test_it_exits_non_zero_when_its_metrics_port_is_taken(
    settings: Settings, tmp_path: Path
) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        environment = {
            "DATABASE_URL": settings.database_url,
            "REDIS_URL": settings.redis_url,
            "STREAMPOOLS_INTEGRATIONS_METRICS_PORT": str(taken.getsockname()[1]),
        }
        with replica(environment, tmp_path / "integrations.log") as failing:
            assert failing.process.wait(30) == 1
    assert any("cannot start" in str(line["message"]) for line in failing.lines())


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``streampools <args>``, its output into ``log``."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "app.cli", *args],
            env=env,
            cwd=PROJECT_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


@pytest.mark.timeout(180)
async def test_make_run_starts_supervises_and_stops_the_integrations_worker(
    settings: Settings, fake_youtube: FakeYouTube, tmp_path: Path
) -> None:
    """`streampools run` (what `make run` runs) against this test's servers: web, worker and
    the integrations worker start; SIGTERM stops them all (the integrations worker cleanly)."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "STREAMPOOLS_PORT": str(port),
        "STREAMPOOLS_WEB_PROCESSES": "1",
        "STREAMPOOLS_DEMO_ENABLED": "false",
        "STREAMPOOLS_LOG_LEVEL": "INFO",
        "STREAMPOOLS_LOG_JSON": "false",
        **_youtube(fake_youtube),
    }
    log = tmp_path / "run.log"
    run = _start(["run"], env, log)
    try:

        async def announced() -> bool:
            assert run.poll() is None, log.read_text()
            text = log.read_text()
            return "Press Ctrl-C to stop." in text and f"running {YOUTUBE}; off: {TWITCH}" in text

        await wait_for(announced, "the platform and its integrations worker to start", within=120)
        assert "an integrations worker" in log.read_text()
        run.send_signal(signal.SIGTERM)
        assert run.wait(60) == 0
    finally:
        if run.poll() is None:
            run.kill()
            run.wait(10)
    text = log.read_text()
    assert "stopped: its leases given up" in text
    assert text.rstrip().endswith("Stopped.")
