"""Replicas of the integrations worker as production runs them: ``streampools integrations``
subprocesses (``app.cli.integrations_command``), each with its own metrics port and log file."""

import asyncio
import json
import os
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from app.cli import integrations_command
from app.kit.embedded import free_port
from app.kit.migrate import PROJECT_ROOT


@dataclass
class Replica:
    process: subprocess.Popen[bytes]
    metrics_port: int
    log: Path

    def lines(self) -> list[dict[str, object]]:
        """Its JSON log lines so far."""
        found = []
        for line in self.log.read_text().splitlines():
            try:
                found.append(json.loads(line))
            except ValueError:
                continue
        return found

    async def metric(self, name: str, labels: dict[str, str] | None = None) -> float | None:
        """A sample of its metrics listener; None while it does not answer (or lacks it)."""
        try:
            async with httpx.AsyncClient(timeout=2) as client:
                served = await client.get(f"http://127.0.0.1:{self.metrics_port}/metrics")
        except httpx.HTTPError:
            return None
        for family in text_string_to_metric_families(served.text):
            for sample in family.samples:
                if sample.name == name and sample.labels == (labels or {}):
                    return float(sample.value)
        return None

    async def chats_polled(self) -> float | None:
        return await self.metric("streampools_youtube_chats_polled")


@contextmanager
def replica(environment: dict[str, str], log: Path) -> Iterator[Replica]:
    """One ``streampools integrations`` process with ``environment`` over ours, logging JSON
    lines to ``log``; stopped (SIGTERM, then SIGKILL) on the way out if still running."""
    port = free_port()
    env = {
        **os.environ,
        "STREAMPOOLS_LOG_LEVEL": "INFO",
        "STREAMPOOLS_LOG_JSON": "true",
        "STREAMPOOLS_INTEGRATIONS_METRICS_PORT": str(port),
        **environment,
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            integrations_command(), env=env, cwd=PROJECT_ROOT, stderr=out, stdout=out
        )
    try:
        yield Replica(process, port, log)
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


async def wait_for(condition: Callable[[], Awaitable[bool]], what: str, within: float = 30) -> None:
    deadline = time.monotonic() + within
    while not await condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)
