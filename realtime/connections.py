"""What the server knows of each live connection: who it is (a user, anonymous, or an overlay
watching with a key), until when, and its limits."""

import asyncio
import time
from dataclasses import dataclass, field

from app.auth.tokens import Principal
from app.kit.errors import AppError
from app.overlay.schemas import OverlayAccess


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
    #: Why the connection's sign-in no longer holds, once the server is dropping it: events
    #: still in flight are refused with it.
    ended: AppError | None = None
    #: When (time.monotonic()) the sign-in was last found to hold by an event that acts.
    sign_in_checked_at: float = float("-inf")
    #: Set for an overlay connected with an overlay key: it watches that key's channel, and
    #: does nothing else.
    overlay: OverlayAccess | None = None

    def token_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= time.time()


class Connections:
    """The connections of this process, by Socket.IO session id."""

    def __init__(self) -> None:
        self._by_sid: dict[str, Connection] = {}
        #: Signed-in connections by user id, to find them when a sign-in or role is revoked.
        self._by_user: dict[int, set[str]] = {}
        #: Overlay connections by overlay key id, to find them when their key is revoked.
        self._by_overlay_key: dict[int, set[str]] = {}

    def add(self, connection: Connection) -> None:
        self._by_sid[connection.sid] = connection
        if connection.principal is not None:
            self._by_user.setdefault(connection.principal.user_id, set()).add(connection.sid)
        if connection.overlay is not None:
            key_id = connection.overlay.key_id
            self._by_overlay_key.setdefault(key_id, set()).add(connection.sid)

    def get(self, sid: str) -> Connection | None:
        return self._by_sid.get(sid)

    def of_user(self, user_id: int) -> list[Connection]:
        return [self._by_sid[sid] for sid in self._by_user.get(user_id, ())]

    def of_overlay_key(self, key_id: int) -> list[Connection]:
        return [self._by_sid[sid] for sid in self._by_overlay_key.get(key_id, ())]

    def signed_in(self) -> list[Connection]:
        return [c for c in self._by_sid.values() if c.principal is not None]

    def overlays(self) -> list[Connection]:
        return [c for c in self._by_sid.values() if c.overlay is not None]

    def remove(self, sid: str) -> Connection | None:
        connection = self._by_sid.pop(sid, None)
        if connection is None:
            return None
        if connection.refresh_timer is not None:
            connection.refresh_timer.cancel()
        if connection.principal is not None:
            sids = self._by_user.get(connection.principal.user_id, set())
            sids.discard(sid)
            if not sids:
                self._by_user.pop(connection.principal.user_id, None)
        if connection.overlay is not None:
            key_id = connection.overlay.key_id
            sids = self._by_overlay_key.get(key_id, set())
            sids.discard(sid)
            if not sids:
                self._by_overlay_key.pop(key_id, None)
        return connection
