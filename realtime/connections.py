"""What the server knows of each live connection: who it is, until when, and its limits."""

import asyncio
import time
from dataclasses import dataclass, field

from app.auth.tokens import Principal


class TokenBucket:
    """``rate`` events per second on average, bursts of up to ``burst``."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._at = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False


@dataclass(slots=True)
class Connection:
    sid: str
    principal: Principal | None
    #: When the access token presented expires (unix seconds); None for anonymous clients.
    expires_at: int | None
    bucket: TokenBucket
    #: Events refused for rate in a row; too many and the client is disconnected.
    refused_in_a_row: int = 0
    #: Events that move money are handled one at a time, in the order they arrived.
    money_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    channels: set[int] = field(default_factory=set)
    refresh_timer: asyncio.Task[None] | None = None

    def token_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= time.time()


class Connections:
    """The connections of this process, by Socket.IO session id."""

    def __init__(self) -> None:
        self._by_sid: dict[str, Connection] = {}

    def add(self, connection: Connection) -> None:
        self._by_sid[connection.sid] = connection

    def get(self, sid: str) -> Connection | None:
        return self._by_sid.get(sid)

    def remove(self, sid: str) -> Connection | None:
        connection = self._by_sid.pop(sid, None)
        if connection is not None and connection.refresh_timer is not None:
            connection.refresh_timer.cancel()
        return connection
