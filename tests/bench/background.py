"""The platform's background processes as the benchmarks start them, with the command lines
`make run` uses: the arq worker (jobs and crons) and the integrations process (the platforms'
chat pollers and listeners)."""

from app.cli import integrations_command, worker_command
from tests.bench.stack import JWT_SECRET, Child, Stack


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
        "worker", worker_command(), _env(stack, env), log=stack.root / "worker.log"
    )


async def start_integrations(stack: Stack, env: dict[str, str]) -> Child:
    """``streampools integrations``, which polls YouTube's live chats (its log:
    ``integrations.log``)."""
    return await Child.start(
        "integrations",
        integrations_command(),
        _env(stack, env),
        log=stack.root / "integrations.log",
    )
