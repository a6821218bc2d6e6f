"""The web supervisor gives up on a slot whose process cannot start, rather than restart it
forever (`make run` then stops and says so)."""

import socket
import sys
from pathlib import Path

import pytest

from app.kit import supervisor
from app.kit.supervisor import WebSupervisor


def test_a_process_that_keeps_dying_at_start_up_stops_the_group(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(supervisor, "RESTART_DELAY_SECONDS", 0.05)
    starts: list[int] = []

    def command(index: int, fd: int, socket_dir: Path) -> list[str]:
        starts.append(index)
        return [sys.executable, "-c", "raise SystemExit(3)"]

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    group = WebSupervisor(sock, 2, command, stop_timeout=5)
    assert group.run() == 1
    assert starts.count(0) >= supervisor.QUICK_DEATHS_TO_GIVE_UP - 1
    assert not group.socket_dir.exists()
