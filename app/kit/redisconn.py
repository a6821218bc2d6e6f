"""How every process connects to Redis.

A connection attempt may take up to :data:`CONNECT_TIMEOUT_S` and is made again, after a short
backoff, when it is refused or times out: a process whose event loop or CPU was busy for a moment,
or a Redis that restarts, costs a retry instead of a failed request or job. Only the connecting is
retried, never a command already sent (``retry_on_error`` stays empty), so a command that may have
run is never run twice."""

from typing import Any

from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

CONNECT_TIMEOUT_S = 5.0
CONNECT_RETRIES = 3


def connect_retry() -> Retry:
    """Up to :data:`CONNECT_RETRIES` more attempts, after 0.1, 0.2 and 0.4 s."""
    retry = Retry(ExponentialBackoff(cap=1.0, base=0.05), CONNECT_RETRIES)
    # A refused connection reaches the retry as the socket's own error, not Redis's.
    retry.update_supported_errors([OSError])
    return retry


def connection_options() -> dict[str, Any]:
    """Keyword arguments for ``Redis.from_url`` and ``ConnectionPool.from_url``."""
    return {"socket_connect_timeout": CONNECT_TIMEOUT_S, "retry": connect_retry()}
