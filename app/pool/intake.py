"""Bet intake: bets that arrive while the previous ones are being written are written together,
in one transaction and one round trip (``place_bets``), instead of one transaction each.

Once a batch commits, its placed bets are announced together (``Announce``: one Redis round
trip for the whole batch, each bettor's events in the order of their bets), before the bets are
answered, and not at all if it rolls back. While one batch is announced, the next batch is
written; its announcement follows once the previous batch's is out, so a bettor's events keep
the order of their bets.

A lone bet goes at once (a batch of one), so batching adds no waiting; under load, batches
grow with the backlog. A refused bet writes nothing (``place_bet`` checks every rule before it
writes), so it is answered with its reason and the others are kept. Whatever the batch cannot
settle for a bet (a cash bet, which needs the player-protection checks first; a batch that
failed as a whole, e.g. on a deadlock) is handed back for the caller to place alone.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncConnection

from app.kit.resources import Resources
from app.pool.repository import BetRequest, Placement, pool_repository

log = logging.getLogger(__name__)

#: Largest batch: bounds a transaction's length and the locks it holds.
MAX_BATCH = 100

#: Batches written at once (PostgreSQL runs each on its own backend, so on its own core).
#: Lanes split bettors, never a bettor: their wallets, positions and keys are disjoint, so
#: lanes do not wait on each other's locks (all share-lock a pool, which does not conflict).
LANES = 2

#: Tells the world of bets once their batch committed (their requests and placements, in
#: the batch's order). Its failures are its own to log: the bets stand and are answered.
Announce = Callable[[Resources, Sequence[tuple[BetRequest, Placement]]], Awaitable[None]]


class _BatchFailed(Exception):
    """A batch's transaction failed (its bets were answered None)."""


@dataclass(slots=True)
class _Waiting:
    request: BetRequest
    answer: asyncio.Future[Placement | None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class BetIntake:
    """One per process (see :func:`intake_of`): a few lanes writing side by side, each bettor
    always in the same lane, so that one bettor's bets are written and answered in order."""

    __slots__ = ("_lanes",)

    def __init__(self, resources: Resources, announce: Announce, lanes: int = LANES) -> None:
        self._lanes = [_Lane(resources, announce) for _ in range(lanes)]

    async def submit(self, request: BetRequest) -> Placement | None:
        """The bet's placement once its batch committed and was announced, or None: place it
        alone."""
        return await self._lanes[request.user_id % len(self._lanes)].submit(request)

    async def drain(self) -> None:
        """Wait for the bets already submitted to be written and answered (before the process
        closes its connections)."""
        await asyncio.gather(*(lane.drain() for lane in self._lanes))


class _Lane:
    """Batches written one after another, each batch announced while the next is written."""

    __slots__ = ("_announce", "_resources", "_sending", "_waiting", "_writer")

    def __init__(self, resources: Resources, announce: Announce) -> None:
        self._resources = resources
        self._announce = announce
        self._waiting: list[_Waiting] = []
        self._writer: asyncio.Task[None] | None = None
        #: The last committed batch's announcement and answers, going out while the next is
        #: written.
        self._sending: asyncio.Task[None] | None = None

    async def submit(self, request: BetRequest) -> Placement | None:
        waiting = _Waiting(request)
        self._waiting.append(waiting)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        return await waiting.answer

    async def _write(self) -> None:
        while self._waiting:
            try:
                # One connection while bets keep coming: no pool check-out (and its ping) per
                # batch. A batch that fails gives the connection back, in case it broke.
                async with self._resources.engine.connect() as connection:
                    # A batch is one statement, its own transaction: no BEGIN and COMMIT round
                    # trips around it (the rows come back once it committed).
                    await connection.execution_options(isolation_level="AUTOCOMMIT")
                    while self._waiting:
                        await self._write_batch(connection)
            except _BatchFailed as failed:
                log.warning(
                    "bet batch failed; placing its bets one by one", exc_info=failed.__cause__
                )
            except Exception:
                log.warning("no connection for bet batches; placing bets one by one", exc_info=True)
                batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
                for waiting in batch:
                    if not waiting.answer.done():
                        waiting.answer.set_result(None)

    async def _write_batch(self, connection: AsyncConnection) -> None:
        """Write the next batch (one statement, in a transaction of its own); once it
        commits, its announcement starts. Raises with the batch's bets answered None (place
        them alone)."""
        batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
        before = self._sending
        try:
            placements = await pool_repository.place_bets(connection, [w.request for w in batch])
        except BaseException as error:
            for waiting in batch:
                if not waiting.answer.done():
                    waiting.answer.set_result(None)
            if isinstance(error, Exception):
                raise _BatchFailed() from error
            raise
        self._sending = asyncio.create_task(
            _send(self._resources, self._announce, before, batch, placements)
        )
        # At most one batch's announcement in flight behind the batch being written.
        if before is not None:
            await asyncio.wait([before])

    async def drain(self) -> None:
        while self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)
        if self._sending is not None:
            await asyncio.wait([self._sending])


async def _send(
    resources: Resources,
    announce: Announce,
    previous: "asyncio.Task[None] | None",
    batch: list[_Waiting],
    placements: list[Placement],
) -> None:
    """A committed batch's announcement (its placed bets, each bettor's in the order of their
    bets: the batch is sorted by bettor, stably), after the previous batch's; then its
    answers."""
    if previous is not None:
        await asyncio.wait([previous])
    try:
        placed = [
            (waiting.request, placement)
            for waiting, placement in zip(batch, placements, strict=True)
            if placement.status == "placed"
        ]
        if placed:
            await announce(resources, placed)
    except Exception:
        log.exception("announcing a committed bet batch failed")
    finally:
        for waiting, placement in zip(batch, placements, strict=True):
            if not waiting.answer.done():  # the caller may have given up
                waiting.answer.set_result(None if placement.status == "cash_check" else placement)


def intake_of(resources: Resources, announce: Announce) -> BetIntake:
    """The process's bet intake, created on first use (announcing with ``announce``)."""
    intake = resources.bet_intake
    if not isinstance(intake, BetIntake):
        intake = resources.bet_intake = BetIntake(resources, announce)
    return intake
