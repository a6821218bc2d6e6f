"""Bet intake: bets that arrive while the previous ones are being written are written together,
in one transaction and one round trip (``place_bets``), instead of one transaction each.

Each placed bet's after-commit effects are registered in the batch's unit of work, the same
buffer every service method uses: they go out once the batch commits (each bet's in order,
the bets side by side), before the bets are answered, and not at all if it rolls back.

A lone bet goes at once (a batch of one), so batching adds no waiting; under load, batches
grow with the backlog. A refused bet is rolled back alone inside the batch. Whatever the batch
cannot settle for a bet (a cash bet, which needs the player-protection checks first; a batch
that failed as a whole, e.g. on a deadlock) is handed back for the caller to place alone.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.effects import Effects, call_after_commit, effects_of
from app.kit.resources import Resources
from app.kit.uow import unit_of_work
from app.pool.repository import BetRequest, Placement, pool_repository

log = logging.getLogger(__name__)

#: Largest batch: bounds a transaction's length and the locks it holds.
MAX_BATCH = 100

#: Called inside the batch's unit of work for a bet it placed, to register the bet's
#: after-commit effects on that session.
OnPlaced = Callable[[AsyncSession, Placement], None]


@dataclass(slots=True)
class _Waiting:
    request: BetRequest
    on_placed: OnPlaced
    answer: asyncio.Future[Placement | None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class BetIntake:
    """One per process (see :func:`intake_of`); batches run one after another."""

    __slots__ = ("_resources", "_waiting", "_writer")

    def __init__(self, resources: Resources) -> None:
        self._resources = resources
        self._waiting: list[_Waiting] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, request: BetRequest, on_placed: OnPlaced) -> Placement | None:
        """The bet's placement once its batch committed and its effects went out, or None:
        place it alone."""
        waiting = _Waiting(request, on_placed)
        self._waiting.append(waiting)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        return await waiting.answer

    async def _write(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
            # By user: concurrent batches (other processes) take wallet locks in one order.
            # The sort is stable, so one user's bets keep the order they came in.
            batch.sort(key=lambda w: w.request.user_id)
            try:
                async with unit_of_work(self._resources) as session:
                    placements = await pool_repository.place_bets(
                        session, [w.request for w in batch]
                    )
                    buffer, each_bet = effects_of(session), []
                    for waiting, placement in zip(batch, placements, strict=True):
                        if placement.status == "placed":
                            start = len(buffer.pending)
                            waiting.on_placed(session, placement)
                            each_bet.append(Effects(buffer.pending[start:]))
                            del buffer.pending[start:]
                    call_after_commit(session, _sender(self._resources, each_bet))
            except Exception:
                log.warning("bet batch failed; placing its bets one by one", exc_info=True)
                for waiting in batch:
                    if not waiting.answer.done():
                        waiting.answer.set_result(None)
                continue
            for waiting, placement in zip(batch, placements, strict=True):
                if not waiting.answer.done():  # the caller may have given up
                    waiting.answer.set_result(
                        None if placement.status == "cash_check" else placement
                    )

    async def drain(self) -> None:
        """Wait for the bets already submitted to be written (before the process closes its
        connections)."""
        while self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)


def _sender(resources: Resources, each_bet: list[Effects]) -> Callable[[], Awaitable[None]]:
    """The batch's effects, once it committed: each bet's in their order, the bets side by
    side, as if each bet had been placed alone."""

    async def send() -> None:
        await asyncio.gather(*(bet.run(resources.jobs, resources.emitter) for bet in each_bet))

    return send


def intake_of(resources: Resources) -> BetIntake:
    """The process's bet intake, created on first use."""
    intake = resources.bet_intake
    if not isinstance(intake, BetIntake):
        intake = resources.bet_intake = BetIntake(resources)
    return intake
