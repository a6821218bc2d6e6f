"""Bet intake: bets that arrive while the previous ones are being written are written together,
in one transaction and one round trip (``place_bets``), instead of one transaction each.

Each placed bet's after-commit effects are registered in the batch's unit of work, the same
buffer every service method uses: they go out once the batch commits (each bettor's in the
order of their bets, the bettors side by side), before the bets are answered, and not at all if it rolls back. While
one batch's effects go out, the next batch is written; its effects follow once the previous
batch's are out, so a bettor's events keep the order of their bets.

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

#: Batches written at once (PostgreSQL runs each on its own backend, so on its own core).
#: Lanes split bettors, never a bettor: their wallets, positions and keys are disjoint, so
#: lanes do not wait on each other's locks (all share-lock a pool, which does not conflict).
LANES = 2

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
    """One per process (see :func:`intake_of`): a few lanes writing side by side, each bettor
    always in the same lane, so that one bettor's bets are written and answered in order."""

    __slots__ = ("_lanes",)

    def __init__(self, resources: Resources, lanes: int = LANES) -> None:
        self._lanes = [_Lane(resources) for _ in range(lanes)]

    async def submit(self, request: BetRequest, on_placed: OnPlaced) -> Placement | None:
        """The bet's placement once its batch committed and its effects went out, or None:
        place it alone."""
        return await self._lanes[request.user_id % len(self._lanes)].submit(request, on_placed)

    async def drain(self) -> None:
        """Wait for the bets already submitted to be written and answered (before the process
        closes its connections)."""
        await asyncio.gather(*(lane.drain() for lane in self._lanes))


class _Lane:
    """Batches written one after another, each batch's effects going out while the next is
    written."""

    __slots__ = ("_resources", "_sending", "_waiting", "_writer")

    def __init__(self, resources: Resources) -> None:
        self._resources = resources
        self._waiting: list[_Waiting] = []
        self._writer: asyncio.Task[None] | None = None
        #: The last committed batch's effects and answers, going out while the next is written.
        self._sending: asyncio.Task[None] | None = None

    async def submit(self, request: BetRequest, on_placed: OnPlaced) -> Placement | None:
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
            before = self._sending
            try:
                async with unit_of_work(self._resources) as session:
                    placements = await pool_repository.place_bets(
                        session, [w.request for w in batch]
                    )
                    each_bettor = _each_bettors_effects(session, batch, placements)
                    call_after_commit(session, self._then_send(batch, placements, each_bettor))
            except Exception:
                log.warning("bet batch failed; placing its bets one by one", exc_info=True)
                for waiting in batch:
                    if not waiting.answer.done():
                        waiting.answer.set_result(None)
                continue
            # At most one batch's effects in flight behind the batch being written.
            if before is not None:
                await asyncio.wait([before])

    def _then_send(
        self, batch: list[_Waiting], placements: list[Placement], each_bettor: list[Effects]
    ) -> Callable[[], Awaitable[None]]:
        """After commit: send the batch's effects once the previous batch's are out, then
        answer its bets. Runs beside the writing of the next batch."""

        async def start() -> None:
            previous = self._sending
            self._sending = asyncio.create_task(
                _send(self._resources, previous, batch, placements, each_bettor)
            )

        return start

    async def drain(self) -> None:
        while self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)
        if self._sending is not None:
            await asyncio.wait([self._sending])


def _each_bettors_effects(
    session: AsyncSession, batch: list[_Waiting], placements: list[Placement]
) -> list[Effects]:
    """The placed bets' effects, taken out of the batch's buffer and grouped by bettor: one
    bettor's in the order of their bets (the batch is sorted by bettor, stably)."""
    buffer, each_bettor, last_user = effects_of(session), list[Effects](), None
    for waiting, placement in zip(batch, placements, strict=True):
        if placement.status == "placed":
            start = len(buffer.pending)
            waiting.on_placed(session, placement)
            if waiting.request.user_id != last_user:
                each_bettor.append(Effects())
                last_user = waiting.request.user_id
            each_bettor[-1].pending.extend(buffer.pending[start:])
            del buffer.pending[start:]
    return each_bettor


async def _send(
    resources: Resources,
    previous: "asyncio.Task[None] | None",
    batch: list[_Waiting],
    placements: list[Placement],
    each_bettor: list[Effects],
) -> None:
    """A committed batch's effects (each bettor's in the order of their bets, the bettors side
    by side), after the previous batch's; then its answers."""
    if previous is not None:
        await asyncio.wait([previous])
    try:
        await asyncio.gather(
            *(effects.run(resources.jobs, resources.emitter) for effects in each_bettor)
        )
    finally:
        for waiting, placement in zip(batch, placements, strict=True):
            if not waiting.answer.done():  # the caller may have given up
                waiting.answer.set_result(None if placement.status == "cash_check" else placement)


def intake_of(resources: Resources) -> BetIntake:
    """The process's bet intake, created on first use."""
    intake = resources.bet_intake
    if not isinstance(intake, BetIntake):
        intake = resources.bet_intake = BetIntake(resources)
    return intake
