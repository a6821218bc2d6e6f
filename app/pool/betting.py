"""Bets: the one way to bet (REST, Socket.IO and chat), batched by the bet intake, each
checked in the transaction that debits the stake; a placed bet's effects go out after its
transaction commits."""

import asyncio
import hashlib
import logging
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.effects import call_after_commit
from app.kit.errors import AppError
from app.kit.resources import Resources
from app.kit.rooms import user_room
from app.kit.uow import unit_of_work
from app.ledger.errors import IdempotencyKeyReused, InsufficientFunds, WalletFrozen
from app.ledger.schemas import WalletUpdated
from app.models.pool import PoolStatus
from app.pool import schemas
from app.pool.errors import (
    OutcomeAlreadyChosen,
    PoolNotFound,
    PoolNotOpen,
    StakeOutOfRange,
    UnknownOutcome,
)
from app.pool.intake import intake_of
from app.pool.live import StakeAdded, pool_totals
from app.pool.repository import BetRequest, Placement, pool_repository
from app.protection.service import protection_service

log = logging.getLogger(__name__)


def _refusal(placement: Placement) -> AppError:
    """The error a refused ``place_bet()`` call stands for."""
    match placement.status:
        case "pool_not_found":
            return PoolNotFound()
        case "pool_not_open" if placement.pool_status == PoolStatus.draft.value:
            return PoolNotFound()  # a draft's existence is its staff's business
        case "pool_not_open" | "pool_closed_by_time":
            return PoolNotOpen(
                placement.pool_status or "gone",
                closed_by_time=placement.status == "pool_closed_by_time",
            )
        case "unknown_outcome":
            return UnknownOutcome()
        case "outcome_already_chosen":
            return OutcomeAlreadyChosen()
        case "stake_out_of_range":
            assert placement.min_stake is not None and placement.max_stake is not None
            return StakeOutOfRange(
                placement.min_stake, placement.max_stake, placement.position or 0
            )
        case "wallet_frozen":
            return WalletFrozen()
        case "insufficient_funds":
            return InsufficientFunds()
        case "idempotency_key_reused":
            return IdempotencyKeyReused()
    raise RuntimeError(f"place_bet() answered {placement.status!r}")


def _digest(pool_id: int, data: schemas.BetCreate) -> bytes:
    return hashlib.sha256(f"{pool_id}:{data.outcome_id}:{data.amount}".encode()).digest()


async def announce_bets(
    resources: Resources, placed: Sequence[tuple[BetRequest, Placement]]
) -> None:
    """What placed bets tell the world once their transaction committed: each bettor's new
    balance (``wallet:updated``, in the order of the bets), and their pools' live totals
    (``pool:updated``, coalesced); one Redis round trip for each, however many bets. A failure
    is logged, never raised: the bets stand (the totals are rebuilt from them when missing)."""
    wallets = []
    stakes = []
    for request, placement in placed:
        assert placement.balance is not None and placement.currency is not None
        wallet = WalletUpdated(currency=placement.currency, balance=placement.balance)
        wallets.append(("wallet:updated", wallet, user_room(request.user_id)))
        new_position = placement.position == request.amount
        stakes.append(StakeAdded(request.pool_id, request.outcome_id, request.amount, new_position))
    results = await asyncio.gather(
        resources.emitter.emit_many(wallets),
        pool_totals.add_bets(resources, stakes),
        return_exceptions=True,
    )
    for result in results:
        if isinstance(result, BaseException):
            log.error("announcing placed bets failed", exc_info=result)


def _placed(pool_id: int, data: schemas.BetCreate, placement: Placement) -> schemas.BetPlaced:
    """The answer to a bet, or the error it was refused with."""
    if placement.status not in ("placed", "replayed"):
        raise _refusal(placement)
    assert placement.bet_id is not None and placement.position is not None
    assert placement.balance is not None and placement.currency is not None
    assert placement.outcome_id is not None
    return schemas.BetPlaced(
        pool_id=pool_id,
        bet_id=placement.bet_id,
        outcome_id=placement.outcome_id,
        placed=data.amount,
        position=placement.position,
        currency=placement.currency,
        balance=placement.balance,
    )


class BettingService:
    async def bet(
        self,
        resources: Resources,
        user_id: int,
        pool_id: int,
        data: schemas.BetCreate,
        idempotency_key: str,
    ) -> schemas.BetPlaced:
        """The one way to bet (REST, Socket.IO and chat call it). Checked in the same
        transaction as the debit: the pool is open and before its close time, one outcome per
        user, stake within the pool's limits, funds, and for cash the player-protection rules.
        The same key and body return the first answer; the same key with another body is
        refused. Bets arriving together share a transaction (app.pool.intake)."""
        request = BetRequest(
            user_id, idempotency_key, _digest(pool_id, data), pool_id, data.outcome_id, data.amount
        )
        placement = await intake_of(resources, announce_bets).submit(request)
        if placement is None:  # the batch could not settle it: on its own, then
            async with unit_of_work(resources) as session:
                return await self.place_bet(
                    session, resources, user_id, pool_id, data, idempotency_key
                )
        return _placed(pool_id, data, placement)

    async def place_bet(
        self,
        session: AsyncSession,
        resources: Resources,
        user_id: int,
        pool_id: int,
        data: schemas.BetCreate,
        idempotency_key: str,
    ) -> schemas.BetPlaced:
        """A bet in the caller's unit of work, with the player-protection checks a cash bet
        needs; its effects go out after the caller commits."""
        digest = _digest(pool_id, data)
        placement = await self._place(session, user_id, idempotency_key, digest, pool_id, data)
        if placement.status == "cash_check":
            await protection_service.ensure_can_play_cash(session, resources.settings, user_id)
            placement = await self._place(
                session, user_id, idempotency_key, digest, pool_id, data, cash_cleared=True
            )
        placed = _placed(pool_id, data, placement)
        if placement.status == "placed":
            request = BetRequest(
                user_id, idempotency_key, digest, pool_id, data.outcome_id, data.amount
            )
            call_after_commit(session, lambda: announce_bets(resources, [(request, placement)]))
        return placed

    async def _place(
        self,
        session: AsyncSession,
        user_id: int,
        idempotency_key: str,
        digest: bytes,
        pool_id: int,
        data: schemas.BetCreate,
        cash_cleared: bool = False,
    ) -> Placement:
        return await pool_repository.place_bet(
            session,
            user_id,
            idempotency_key,
            digest,
            pool_id,
            data.outcome_id,
            data.amount,
            cash_cleared,
        )


pool_betting = BettingService()
