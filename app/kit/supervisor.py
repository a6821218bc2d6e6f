"""``streampools web`` with several processes: the supervisor binds the public socket once and
runs one web process per slot, all accepting on it (each also listens on a private Unix
socket of its own, see realtime.affinity). A process that dies is started again in its slot;
SIGTERM or SIGINT stops them all gracefully."""

import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

log = logging.getLogger("streampools.web")

#: What starts the process of a slot: (slot index, public socket's fd, private socket folder).
Command = Callable[[int, int, Path], list[str]]

#: A process that dies sooner than this after its start waits before it is started again,
#: so that one failing at start-up (a bad setting, a database down) does not spin.
QUICK_DEATH_SECONDS = 10.0
RESTART_DELAY_SECONDS = 1.0
#: A slot whose process died this many times in a row that quickly stops the whole group
#: (exit 1): it is not going to start (`make run` then says so and stops).
QUICK_DEATHS_TO_GIVE_UP = 5


@dataclass
class _Slot:
    index: int
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restart_at: float = 0.0
    quick_deaths: int = 0


class WebSupervisor:
    def __init__(
        self, sock: socket.socket, processes: int, command: Command, *, stop_timeout: float
    ) -> None:
        self.sock = sock
        self.command = command
        self.stop_timeout = stop_timeout
        self.slots = [_Slot(i) for i in range(processes)]
        self.socket_dir = Path(tempfile.mkdtemp(prefix="streampools-web-"))
        self.stopping = False
        self.failed = False

    def run(self) -> int:
        """Until SIGTERM or SIGINT (or a slot that cannot start): 0 after a clean stop."""
        previous = {
            signum: signal.signal(signum, self._on_signal)
            for signum in (signal.SIGTERM, signal.SIGINT)
        }
        log.info(
            "starting %d web processes (private sockets in %s)", len(self.slots), self.socket_dir
        )
        try:
            for slot in self.slots:
                self._start(slot)
            while not self.stopping:
                self._tend()
                time.sleep(0.2)
        finally:
            self._stop()
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        return 1 if self.failed else 0

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True

    def _start(self, slot: _Slot) -> None:
        if slot.process is None and slot.started_at:
            log.info("starting web process %d again", slot.index)
        fd = self.sock.fileno()
        slot.process = subprocess.Popen(
            self.command(slot.index, fd, self.socket_dir), pass_fds=[fd]
        )
        slot.started_at = time.monotonic()
        log.info("web process %d started (pid %d)", slot.index, slot.process.pid)

    def _tend(self) -> None:
        now = time.monotonic()
        for slot in self.slots:
            if slot.process is None:
                if now >= slot.restart_at:
                    self._start(slot)
                continue
            code = slot.process.poll()
            if code is None:
                continue
            log.warning(
                "web process %d (pid %d) exited with %s",
                slot.index,
                slot.process.pid,
                _exit_status(code),
            )
            quick = now - slot.started_at < QUICK_DEATH_SECONDS
            slot.quick_deaths = slot.quick_deaths + 1 if quick else 0
            slot.process = None
            slot.restart_at = now + (RESTART_DELAY_SECONDS if quick else 0.0)
            if slot.quick_deaths >= QUICK_DEATHS_TO_GIVE_UP:
                log.error(
                    "web process %d died %d times in a row at start-up; stopping",
                    slot.index,
                    slot.quick_deaths,
                )
                self.failed = self.stopping = True
                return

    def _stop(self) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        running = [s.process for s in self.slots if s.process is not None]
        log.info("stopping %d web processes", len(running))
        for process in running:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        for process in running:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("web process pid %d did not stop in time; killing it", process.pid)
                process.kill()
                process.wait()
        self.sock.close()
        shutil.rmtree(self.socket_dir, ignore_errors=True)
        log.info("web processes stopped")


def _exit_status(code: int) -> str:
    if code < 0:
        return signal.Signals(-code).name
    return f"code {code}"


def parent_gone(parent: int) -> bool:
    """Whether the process that started us (``parent``, its pid then) has gone: a web process
    of a killed supervisor stops rather than serve on alone."""
    return os.getppid() != parent


@dataclass(frozen=True)
class ProcessSlot:
    """Which process of a group this is: its index among ``count``, and the folder of the
    group's private sockets (``<index>.sock``)."""

    index: int
    count: int
    socket_dir: Path

    @property
    def sid_prefix(self) -> str:
        return f"{self.index}."

    def socket_path(self, index: int) -> Path:
        return self.socket_dir / f"{index}.sock"

    def owner(self, sid: str) -> int | None:
        """The index of the process that issued ``sid``; None for an id of no process of the
        group (left to engine.io, which answers "Invalid session")."""
        prefix, dot, _ = sid.partition(".")
        if not dot or not prefix.isdigit():
            return None
        index = int(prefix)
        return index if index < self.count else None


def private_socket(slot: ProcessSlot) -> socket.socket:
    """This process's private Unix socket, bound (a stale file from a dead predecessor of the
    same index is replaced); uvicorn listens on it."""
    path = slot.socket_path(slot.index)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    return sock
