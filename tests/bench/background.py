"""The platform's background processes as the benchmarks start them: the arq worker (jobs and
crons, as `make run` starts it), and whichever process polls the platforms' chats (YouTube's
live chats): a separate ``streampools integrations`` process where the command line has one,
else the worker itself."""

import functools
import re
import subprocess
import sys
from pathlib import Path

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


async def start_worker(stack: Stack, env: dict[str, str]) -> Child:
    """The arq worker with the platform's jobs (its log: ``worker.log`` in the stack's root)."""
    return await Child.start(
        "worker",
        [str(Path(sys.executable).parent / "arq"), "workers.settings.WorkerSettings"],
        _env(stack, env),
        log=stack.root / "worker.log",
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
    if INTEGRATIONS not in cli_commands():
        return None, "the arq worker"
    child = await Child.start(
        INTEGRATIONS,
        [sys.executable, "-m", "app.cli", INTEGRATIONS],
        _env(stack, env),
        log=stack.root / "integrations.log",
    )
    return child, "the integrations process"
