"""What the realtime benchmarks run on: embedded PostgreSQL and Redis, the web process started
as production starts it, Node scripts that speak JSON lines, and a process's CPU time."""

import asyncio
import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from app.cli import web_command
from app.kit.embedded import EmbeddedPostgres, EmbeddedRedis, free_port
from app.kit.migrate import PROJECT_ROOT, upgrade

JS_DIR = PROJECT_ROOT / "tests" / "js" / "bench"
JWT_SECRET = "bench-only-secret-bench-only-secret-0123"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Stack:
    root: Path
    postgres: EmbeddedPostgres
    redis: EmbeddedRedis
    database: str

    @property
    def database_url(self) -> str:
        return self.postgres.url(self.database)


@contextlib.contextmanager
def embedded_stack(database: str) -> Iterator[Stack]:
    """Fresh PostgreSQL (no fsync, as the tests run it) and Redis, a migrated database;
    all stopped and deleted on the way out."""
    (PROJECT_ROOT / ".data").mkdir(exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="bench-", dir=PROJECT_ROOT / ".data"))
    postgres = EmbeddedPostgres(root / "postgres", free_port(), fast_unsafe=True)
    redis = EmbeddedRedis(root / "redis", free_port(), persist=False)
    try:
        postgres.start()
        redis.start()
        postgres.create_database(database)
        upgrade(postgres.url(database))
        yield Stack(root, postgres, redis, database)
    finally:
        redis.stop()
        postgres.stop()
        shutil.rmtree(root, ignore_errors=True)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process and its live descendants have used so far
    (Linux /proc): a web server of several processes counts as one."""
    total = 0.0
    for member in [pid, *descendants(pid)]:
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:  # ended meanwhile
            continue
        # After the command name: state is field 3, utime field 14, stime field 15 (1-based).
        total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return total


def descendants(pid: int) -> list[int]:
    found: list[int] = []
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:
        return found
    for child in map(int, children):
        found += [child, *descendants(child)]
    return found


def web_processes() -> int:
    """How many web processes the benchmarks run: STREAMPOOLS_WEB_PROCESSES, else one per
    core, as `make run` does."""
    return int(os.environ.get("STREAMPOOLS_WEB_PROCESSES") or os.cpu_count() or 1)


def machine_busy_seconds() -> float:
    """CPU time the whole machine has spent busy so far, over all cores (Linux /proc/stat):
    shows whether the benchmark had the machine to itself."""
    ticks = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = ticks[:8]
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


class Child:
    """A child process in its own process group, whose stdout carries JSON lines."""

    def __init__(self, name: str, process: asyncio.subprocess.Process) -> None:
        self.name = name
        self.process = process

    @property
    def pid(self) -> int:
        return self.process.pid

    @classmethod
    async def start(
        cls, name: str, args: list[str], env: dict[str, str] | None = None, log: Path | None = None
    ) -> "Child":
        """Start ``args``; with ``log``, its output goes to that file instead of to us."""
        output = log.open("ab") if log is not None else None
        process = await asyncio.create_subprocess_exec(
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=output or asyncio.subprocess.PIPE,
            stderr=output,
            env={**os.environ, **(env or {})},
            cwd=PROJECT_ROOT,
            start_new_session=True,
            limit=64 * 1024 * 1024,  # a result line carries every latency
        )
        if output is not None:
            output.close()  # the child holds its own descriptor
        return cls(name, process)

    @classmethod
    async def node(cls, script: str, config: dict[str, Any]) -> "Child":
        node = shutil.which("node")
        if node is None:
            raise RuntimeError("node (Node.js 18+) is needed for the benchmarks")
        child = await cls.start(script, [node, str(JS_DIR / script)])
        # On stdin rather than in argv: no size limit, and no tokens in the process list.
        await child.send(json.dumps(config))
        return child

    async def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line.encode() + b"\n")
        await self.process.stdin.drain()

    async def expect(self, event: str, within: float) -> dict[str, Any]:
        """The next JSON line of the given event within ``within`` seconds; raise on another
        event or a timeout."""
        assert self.process.stdout is not None
        async with asyncio.timeout(within):
            while True:
                line = await self.process.stdout.readline()
                if not line:
                    raise RuntimeError(f"{self.name} exited ({await self.process.wait()})")
                if not line.startswith(b"{"):
                    continue
                message: dict[str, Any] = json.loads(line)
                if message.get("event") == event:
                    return message
                raise RuntimeError(f"{self.name}: expected {event}, got {message}")

    async def stop(self) -> None:
        """Kill the whole process group; harmless if it already ended."""
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5):
                await self.process.wait()


@contextlib.asynccontextmanager
async def children() -> AsyncIterator[list[Child]]:
    """Every child appended to the list is killed on the way out, error or not."""
    started: list[Child] = []
    try:
        yield started
    finally:
        for child in reversed(started):
            await child.stop()


async def start_web(
    stack: Stack, env: dict[str, str], processes: int | None = None
) -> tuple[Child, str]:
    """The web server exactly as production starts it (app.cli.web_command), ``processes``
    of them on one port (default: :func:`web_processes`); returns it (its CPU time,
    :func:`cpu_seconds`, counts every process) and its base URL once each process answers
    ``/readyz``."""
    port = free_port()
    processes = processes or web_processes()
    print(f"web: {processes} process{'es' if processes > 1 else ''} on one port", flush=True)
    child = await Child.start(
        "web",
        web_command("127.0.0.1", port, processes),
        {
            "DATABASE_URL": stack.database_url,
            "REDIS_URL": stack.redis.url,
            "STREAMPOOLS_JWT_SECRET": JWT_SECRET,
            "STREAMPOOLS_LOG_LEVEL": "WARNING",
            "STREAMPOOLS_CORS_ORIGINS": '["*"]',
            **env,
        },
        log=stack.root / "web.log",
    )
    url = f"http://127.0.0.1:{port}"
    try:
        await wait_healthy(child, url, processes)
    except RuntimeError:
        await child.stop()
        print((stack.root / "web.log").read_text()[-3000:], file=sys.stderr)
        raise
    return child, url


async def wait_healthy(child: Child, url: str, processes: int = 1, within: float = 90) -> None:
    """Once ``/healthz`` answers, with several processes each one's (``?process=<i>``)."""
    deadline = time.monotonic() + within
    paths = ["/healthz"] if processes == 1 else [f"/healthz?process={i}" for i in range(processes)]
    async with httpx.AsyncClient(base_url=url, timeout=2) as http:
        while time.monotonic() < deadline:
            if child.process.returncode is not None:
                raise RuntimeError(f"the web process exited ({child.process.returncode})")
            with contextlib.suppress(httpx.HTTPError):
                if all([(await http.get(path)).status_code == 200 for path in paths]):
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError("the web process did not answer /healthz in time")
