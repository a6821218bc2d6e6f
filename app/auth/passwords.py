"""Password hashing with argon2id, off the event loop: parameters come from settings, old hashes
are upgraded, and only so many hashes run (or wait to run) at once."""

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from app.auth.errors import PasswordChecksBusy

T = TypeVar("T")

# Checked against when the account does not exist, so a wrong email costs as much time as a
# wrong password and the response time says nothing about which one it was.
_DUMMY_PASSWORD = "not-a-real-password-just-for-timing"  # noqa: S105


class Passwords:
    """Hashes and checks passwords in a pool of ``concurrency`` threads.

    One argon2 hash takes tens to hundreds of milliseconds of CPU: run on the event loop it
    stalls every HTTP request and Socket.IO connection of the process. argon2-cffi releases the
    GIL while hashing, so the threads use other cores while the loop keeps serving. Beyond
    ``concurrency`` running, up to ``queue_max`` calls wait their turn; past that a call is
    refused at once (PasswordChecksBusy) rather than queueing without bound.
    """

    def __init__(
        self,
        time_cost: int,
        memory_kib: int,
        parallelism: int,
        concurrency: int = 1,
        queue_max: int = 0,
    ) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, type=Type.ID
        )
        self._executor = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="argon2")
        self._capacity = concurrency + queue_max
        self._admitted = 0
        self._lock = threading.Lock()
        self._dummy_hash: str | None = None

    async def hash(self, password: str) -> str:
        return await self._run(self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether ``password`` matches; with no hash (unknown account) always False, after
        the same amount of work."""
        return await self._run(self._verify, password_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        # Only parses the parameters out of the hash: cheap enough for the loop.
        return self._hasher.check_needs_rehash(password_hash)

    async def _run(self, work: Callable[..., T], *args: object) -> T:
        with self._lock:
            if self._admitted >= self._capacity:
                raise PasswordChecksBusy()
            self._admitted += 1
        try:
            future = self._executor.submit(work, *args)
        except BaseException:
            self._release(None)
            raise
        # Released when the work is done or was cancelled before it started, not when the
        # caller stops waiting: a cancelled request must not free a slot its hash still uses.
        future.add_done_callback(self._release)
        return await asyncio.wrap_future(future)

    def _release(self, _: "Future[Any] | None") -> None:
        with self._lock:
            self._admitted -= 1

    def _verify(self, password_hash: str | None, password: str) -> bool:
        """Runs in a pool thread."""
        try:
            if password_hash is None:
                self._hasher.verify(self._dummy(), password)
                return False
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def _dummy(self) -> str:
        # Made on first use, in a pool thread; two threads racing both make a valid one.
        if self._dummy_hash is None:
            self._dummy_hash = self._hasher.hash(_DUMMY_PASSWORD)
        return self._dummy_hash
