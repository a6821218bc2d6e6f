"""The platform's background processes as the benchmarks start them: the arq worker (jobs and
crons, as `make run` starts it), and whichever process polls the platforms' chats (YouTube's
live chats): a separate ``streampools integrations`` process where the command line has one,
else the worker itself."""

import functools
import re
import subprocess
import sys
from pathlib import Path

from app import cli
from app.kit.migrate import PROJECT_ROOT
from tests.bench.stack import JWT_SECRET, Child, Stack

INTEGRATIONS = "integrations"


def _env(stack: Stack, env: dict[str, str]) -> dict[str, str]:
    return {
        "DATABASE_URL": stack.database_url,
        "REDIS_URL": stack.redis.url,
        # The web process's (start_web): tokens are encrypted under a key derived from it.
        "STREAMPOOLS_JWT_SECRET": JWT_SECRET,
        "STREAMPOOLS_LOG_LEVEL": "WARNING",
        **env,
    }


def worker_command() -> list[str]:
    """How `make run` starts the worker: ``app.cli.worker_command()`` where the command line
    names it, else arq on the worker's settings."""
    named = getattr(cli, "worker_command", None)
    if callable(named):
        return list(named())
    return [str(Path(sys.executable).parent / "arq"), "workers.settings.WorkerSettings"]


def integrations_command() -> list[str] | None:
    """How `make run` starts the integrations process (``app.cli.integrations_command()``, or
    ``python -m app.cli integrations`` where the command line offers it); None without one."""
    named = getattr(cli, "integrations_command", None)
    if callable(named):
        return list(named())
    if INTEGRATIONS in cli_commands():
        return [sys.executable, "-m", "app.cli", INTEGRATIONS]
    return None


async def start_worker(stack: Stack, env: dict[str, str]) -> Child:
    """The arq worker with the platform's jobs (its log: ``worker.log`` in the stack's root)."""
    return await Child.start(
        "worker", worker_command(), _env(stack, env), log=stack.root / "worker.log"
    )


@functools.cache
def cli_commands() -> frozenset[str]:
    """The subcommands ``python -m app.cli`` offers (argparse lists them as ``{a,b,...}``)."""
    answer = subprocess.run(
        [sys.executable, "-m", "app.cli", "--help"],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=60,
        check=False,
    )
    listed = re.search(r"\{([a-z0-9_,-]+)\}", answer.stdout)
    return frozenset(listed.group(1).split(",")) if listed else frozenset()


async def start_pollers(stack: Stack, env: dict[str, str]) -> tuple[Child | None, str]:
    """What polls the platforms' chats: ``streampools integrations`` started, when the command
    line has it (its log: ``integrations.log``); else nothing to start, the worker polls them.
    Returns the process started (None) and which process polls, for the report."""
    command = integrations_command()
    if command is None:
        return None, "the arq worker"
    child = await Child.start(
        INTEGRATIONS, command, _env(stack, env), log=stack.root / "integrations.log"
    )
    return child, "the integrations process"
