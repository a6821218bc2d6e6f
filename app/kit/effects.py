"""Side effects of a unit of work (job enqueues, Socket.IO emits), buffered until it commits."""

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger(__name__)


class Emitter(Protocol):
    async def emit(self, event: str, data: Any, room: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Enqueue:
    name: str
    args: tuple[Any, ...]
    job_id: str | None = None
    defer_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class Emit:
    event: str
    data: Any
    room: str


@dataclass(frozen=True, slots=True)
class Call:
    """Any other after-commit work (e.g. updating live totals kept in Redis)."""

    run: Callable[[], Awaitable[None]]


Effect = Enqueue | Emit | Call


@dataclass(slots=True)
class Effects:
    pending: list[Effect] = field(default_factory=list)

    def add(self, effect: Effect) -> None:
        self.pending.append(effect)

    def clear(self) -> None:
        self.pending.clear()

    async def run(self, jobs: ArqRedis, emitter: Emitter) -> None:
        """Send everything buffered. A failure is logged, never raised: the commit stands and
        the repair sweeps re-derive whatever a lost enqueue would have done."""
        pending, self.pending = self.pending, []
        for effect in pending:
            try:
                if isinstance(effect, Enqueue):
                    await jobs.enqueue_job(
                        effect.name,
                        *effect.args,
                        _job_id=effect.job_id,
                        _defer_by=effect.defer_seconds,
                    )
                elif isinstance(effect, Emit):
                    await emitter.emit(effect.event, effect.data, room=effect.room)
                else:
                    await effect.run()
            except Exception:
                log.exception("after-commit effect failed", extra={"effect": repr(effect)})


def effects_of(session: AsyncSession) -> Effects:
    effects = session.info.get("effects")
    if effects is None:
        effects = session.info["effects"] = Effects()
    assert isinstance(effects, Effects)
    return effects


def enqueue_after_commit(
    session: AsyncSession,
    name: str,
    *args: Any,
    job_id: str | None = None,
    defer_seconds: float | None = None,
) -> None:
    effects_of(session).add(Enqueue(name, args, job_id, defer_seconds))


def call_after_commit(session: AsyncSession, run: Callable[[], Awaitable[None]]) -> None:
    effects_of(session).add(Call(run))


def emit_after_commit(session: AsyncSession, event: str, data: Any, room: str) -> None:
    effects_of(session).add(Emit(event, data, room))
