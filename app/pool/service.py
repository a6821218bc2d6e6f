"""Pools: creation, the lifecycle (each transition once), bets, live totals, and exact
parimutuel settlement. Money moves only through the ledger."""

import hashlib
import logging
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.tokens import Principal
from app.channel.errors import NotChannelStaff
from app.channel.permissions import channel_or_404, is_staff, require_staff
from app.kit.effects import (
    Call,
    Effect,
    Effects,
    Emit,
    call_after_commit,
    effects_of,
    emit_after_commit,
    enqueue_after_commit,
)
from app.kit.errors import AppError, InvalidInput, NotFound
from app.kit.resources import Resources
from app.kit.rooms import channel_room, user_room
from app.kit.uow import read_session, unit_of_work
from app.ledger.errors import IdempotencyKeyReused, InsufficientFunds, WalletFrozen
from app.ledger.repository import Posting
from app.ledger.schemas import WalletUpdated
from app.ledger.service import cash, ledger_service, points
from app.models.channel import Channel
from app.models.ledger import AccountKind, TransactionKind
from app.models.pool import Pool, PoolOutcome, PoolStatus, PoolTemplate
from app.pool import parimutuel, schemas
from app.pool.errors import (
    CashNotEnabled,
    ConflictOfInterest,
    InvalidTransition,
    OutcomeAlreadyChosen,
    PoolNotFound,
    PoolNotOpen,
    RakeTooHigh,
    StakeOutOfRange,
    UnknownOutcome,
)
from app.pool.intake import intake_of
from app.pool.repository import BetRequest, OutcomeTotal, Placement, pool_repository
from app.protection.service import protection_service
from app.settings import Settings

log = logging.getLogger(__name__)

MAX_CLOSE_AHEAD = timedelta(hours=24)
MIN_CLOSE_AHEAD = timedelta(seconds=10)

# Live totals: a Redis hash per pool. Increments after a bet commits are skipped once the hash
# was rebuilt from PostgreSQL at lock time ("final"), so late increments cannot double count.
# In the same round trip, the bet claims the pool's next pool:updated (see Coalescer): 1 when
# this caller is to schedule it.
_INCREMENT = """
if redis.call('HEXISTS', KEYS[1], 'final') == 0 and redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HINCRBY', KEYS[1], 't:' .. ARGV[1], ARGV[2])
  redis.call('HINCRBY', KEYS[1], 'n:' .. ARGV[1], ARGV[3])
end
if redis.call('SET', KEYS[2], 1, 'NX', 'PX', ARGV[4]) then
  return 1
end
return 0
"""


def room(pool: Pool) -> str:
    """Where a pool's events go: its channel's room, which viewers join (``channel:join``)."""
    return channel_room(pool.channel_id)


def settle_job_id(pool_id: int) -> str:
    return f"pool.settle:{pool_id}"


def refund_job_id(pool_id: int) -> str:
    return f"pool.refund:{pool_id}"


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


def outcome_at_stake(action: str, status: PoolStatus) -> bool:
    """Whether ``action`` on a pool in ``status`` decides who gets its money, so that nobody
    holding a position may take it. Resolving always does. Cancelling a locked pool does: the
    event may be as good as decided, and a refund hands a losing stake back. Cancelling a
    draft or an open pool does not: betting is still going on, every stake comes back
    exactly, and staff must be able to call off a mistaken pool at once."""
    return action == "resolve" or (action == "cancel" and status is PoolStatus.locked)


def published(pool: Pool) -> bool:
    """Whether everyone may see the pool: once opened, it is public for good. A pool never
    opened (a draft, or a draft called off) is its channel's staff's business only."""
    return pool.opened_at is not None


def paid_out(pool: Pool, payout: int | None) -> int | None:
    """What a position got back: nothing yet (None) until the pool is paid; a losing position
    of a paid pool keeps no payout row and got 0."""
    if payout is None and pool.status in (PoolStatus.settled, PoolStatus.refunded):
        return 0
    return payout


def _digest(pool_id: int, data: schemas.BetCreate) -> bytes:
    return hashlib.sha256(f"{pool_id}:{data.outcome_id}:{data.amount}".encode()).digest()


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


def _totals_key(pool_id: int) -> str:
    return f"pool:{pool_id}:totals"


class PoolService:
    # -- creation -----------------------------------------------------------------------------

    async def create(
        self,
        session: AsyncSession,
        resources: Resources,
        actor: Principal | None,
        data: schemas.PoolCreate,
    ) -> schemas.Pool:
        """Create a pool as a draft or open at once. Everything is checked before anything is
        written, so a refused pool leaves nothing behind."""
        settings = resources.settings
        channel = await channel_or_404(session, data.channel_id)
        if actor is not None:
            await require_staff(session, channel, actor)
        labels = [label.strip() for label in data.outcomes]
        if len({label.casefold() for label in labels}) != len(labels):
            raise InvalidInput("outcomes", "labels must be distinct")
        if data.max_stake < data.min_stake:
            raise InvalidInput("max_stake", "must be at least min_stake")
        if (data.window_seconds is None) == (data.closes_at is None):
            raise InvalidInput("window_seconds", "give either window_seconds or closes_at")
        now = datetime.now(UTC)
        if data.closes_at is not None:
            closes_at = data.closes_at
            if closes_at.tzinfo is None:
                raise InvalidInput("closes_at", "needs a time zone (e.g. 2026-01-01T20:00:00Z)")
            if not now + MIN_CLOSE_AHEAD <= closes_at <= now + MAX_CLOSE_AHEAD:
                raise InvalidInput("closes_at", "must be between 10 seconds and 24 hours ahead")
        if data.currency == "cash":
            if not channel.cash_enabled:
                raise CashNotEnabled()
            currency = cash(settings.cash_currency)
            rake = settings.cash_rake_bps_default if data.rake_bps is None else data.rake_bps
            if rake > settings.cash_rake_bps_cap:
                raise RakeTooHigh(settings.cash_rake_bps_cap)
        else:
            currency = points(channel.id)
            if data.rake_bps:
                raise RakeTooHigh(0)
            rake = 0
        pool = await self._insert(
            session,
            channel_id=channel.id,
            title=data.title.strip(),
            labels=labels,
            currency=currency,
            min_stake=data.min_stake,
            max_stake=data.max_stake,
            rake_bps=rake,
            window_seconds=data.window_seconds,
            closes_at=data.closes_at,
            created_by=actor.user_id if actor else None,
        )
        await pool_repository.record_transition(
            session, pool.id, PoolStatus.draft, PoolStatus.draft, pool.created_by
        )
        if data.open:
            return await self.open(session, resources, actor, pool.id)
        return await self.view(session, resources.redis, pool.id, None)

    async def _insert(
        self,
        session: AsyncSession,
        *,
        channel_id: int,
        title: str,
        labels: list[str],
        currency: str,
        min_stake: int,
        max_stake: int,
        rake_bps: int,
        window_seconds: int | None,
        closes_at: datetime | None,
        created_by: int | None,
    ) -> Pool:
        pool = Pool(
            channel_id=channel_id,
            title=title,
            currency=currency,
            status=PoolStatus.draft,
            min_stake=min_stake,
            max_stake=max_stake,
            rake_bps=rake_bps,
            window_seconds=window_seconds,
            closes_at=closes_at,
            escrow_account_id=0,
            created_by=created_by,
        )
        await pool_repository.add(session, pool)
        pool.escrow_account_id = await ledger_service.system_account(
            session, AccountKind.pool_escrow, currency, ref_id=pool.id
        )
        for position, label in enumerate(labels, start=1):
            await pool_repository.add(
                session, PoolOutcome(pool_id=pool.id, position=position, label=label)
            )
        await session.flush()
        return pool

    # -- transitions --------------------------------------------------------------------------

    async def open(
        self, session: AsyncSession, resources: Resources, actor: Principal | None, pool_id: int
    ) -> schemas.Pool:
        pool = await self._pool_for(session, actor, pool_id)
        await self._transition(session, pool, actor, "open", (PoolStatus.draft,), PoolStatus.open)
        await self._store_totals(resources.redis, pool.id, [], final=False)
        return await self._announce(session, resources, pool, "pool:opened")

    async def lock(
        self, session: AsyncSession, resources: Resources, actor: Principal | None, pool_id: int
    ) -> schemas.Pool:
        """Stop betting. A bet racing the lock either committed before it or is refused."""
        pool = await self._pool_for(session, actor, pool_id)
        await self._transition(session, pool, actor, "lock", (PoolStatus.open,), PoolStatus.locked)
        totals = await pool_repository.totals(session, pool.id)
        call_after_commit(
            session, lambda: self._store_totals(resources.redis, pool.id, totals, final=True)
        )
        return await self._announce(session, resources, pool, "pool:locked")

    async def resolve(
        self,
        session: AsyncSession,
        resources: Resources,
        actor: Principal | None,
        pool_id: int,
        outcome_id: int,
    ) -> schemas.Pool:
        """Name the winning outcome; settlement follows in a job."""
        pool = await self._pool_for(session, actor, pool_id)
        if not any(o.id == outcome_id for o in await pool_repository.outcomes(session, pool.id)):
            raise UnknownOutcome()
        await self._transition(
            session, pool, actor, "resolve", (PoolStatus.locked,), PoolStatus.resolved, outcome_id
        )
        enqueue_after_commit(session, "pool.settle", pool.id, job_id=settle_job_id(pool.id))
        return await self._announce(session, resources, pool, "pool:resolved")

    async def cancel(
        self, session: AsyncSession, resources: Resources, actor: Principal | None, pool_id: int
    ) -> schemas.Pool:
        """Call the pool off; every stake is refunded exactly, in a job."""
        pool = await self._pool_for(session, actor, pool_id)
        await self._transition(
            session,
            pool,
            actor,
            "cancel",
            (PoolStatus.draft, PoolStatus.open, PoolStatus.locked),
            PoolStatus.cancelled,
        )
        enqueue_after_commit(session, "pool.refund", pool.id, job_id=refund_job_id(pool.id))
        return await self._announce(session, resources, pool, "pool:cancelled")

    async def _pool_for(self, session: AsyncSession, actor: Principal | None, pool_id: int) -> Pool:
        pool = await pool_repository.get(session, pool_id)
        if pool is None:
            raise PoolNotFound()
        if actor is not None:
            channel = await channel_or_404(session, pool.channel_id)
            if not await _is_staff(session, channel, actor):
                # Refusing a draft would tell outsiders it exists.
                raise NotChannelStaff() if published(pool) else PoolNotFound()
        return pool

    async def _transition(
        self,
        session: AsyncSession,
        pool: Pool,
        actor: Principal | None,
        action: str,
        allowed: tuple[PoolStatus, ...],
        to: PoolStatus,
        winning_outcome_id: int | None = None,
    ) -> None:
        await self._refuse_conflict_of_interest(session, pool.id, actor, action)
        moved = await pool_repository.transition(session, pool.id, allowed, to, winning_outcome_id)
        if moved is None:
            current = await pool_repository.get_for_update(session, pool.id)
            raise InvalidTransition(action, current.status.value if current else "gone")
        details = {"outcome_id": winning_outcome_id} if winning_outcome_id else {}
        await pool_repository.record_transition(
            session, pool.id, moved[0], to, actor.user_id if actor else None, details
        )
        await session.refresh(pool)

    async def _refuse_conflict_of_interest(
        self, session: AsyncSession, pool_id: int, actor: Principal | None, action: str
    ) -> None:
        """The one conflict-of-interest rule, for every path that moves a pool (REST,
        Socket.IO, chat commands): nobody holding a position may decide where the pool's money
        goes. That is resolving it, and cancelling it once locked (a stake on the losing side
        would come back). Owners, moderators and platform admins alike; automation acting for
        the channel holds no position.

        Race-safe: the pool row is locked before the positions are read. A bet holds that row
        FOR SHARE until it commits, and only while the pool is open (``place_bet``, migration
        0006). So once we hold the row and see the pool locked, every bet it will ever have has
        committed, and the positions query, a new statement with a new snapshot under READ
        COMMITTED, sees them all; the row stays ours until the transition below commits.
        Putting the check inside the transition's UPDATE would not do: that statement's
        snapshot predates its wait for the row lock, so it could miss a bet that committed
        during the wait, just before the lock."""
        if actor is None or action not in ("resolve", "cancel"):
            return
        current = await pool_repository.get_for_update(session, pool_id)
        if current is None or not outcome_at_stake(action, current.status):
            return
        if await pool_repository.position(session, pool_id, actor.user_id) is not None:
            raise ConflictOfInterest(action)

    async def _announce(
        self, session: AsyncSession, resources: Resources, pool: Pool, event: str
    ) -> schemas.Pool:
        view = await self.view(session, resources.redis, pool.id, None)
        if published(pool):  # the channel's room is public: a draft called off stays unseen
            emit_after_commit(session, event, view, room(pool))
        return view

    # -- bets ---------------------------------------------------------------------------------

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
        placement = await intake_of(resources).submit(request)
        if placement is None:  # the batch could not settle it: on its own, then
            async with unit_of_work(resources) as session:
                return await self.place_bet(
                    session, resources, user_id, pool_id, data, idempotency_key
                )
        placed = _placed(pool_id, data, placement)
        if placement.status == "placed":
            await Effects(self._bet_effects(resources, user_id, pool_id, data, placed)).run(
                resources.jobs, resources.emitter
            )
        return placed

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
            for effect in self._bet_effects(resources, user_id, pool_id, data, placed):
                effects_of(session).add(effect)
        return placed

    def _bet_effects(
        self,
        resources: Resources,
        user_id: int,
        pool_id: int,
        data: schemas.BetCreate,
        placed: schemas.BetPlaced,
    ) -> list[Effect]:
        """What a placed bet tells the world once committed: the bettor's new balance, and the
        pool's live totals (coalesced)."""
        new_position = placed.position == data.amount

        async def update_totals() -> None:
            coalescer, name = resources.coalescer, f"pool:{pool_id}"
            claimed = await resources.redis.eval(  # type: ignore[misc]
                _INCREMENT,
                2,
                _totals_key(pool_id),
                coalescer.claim_key(name),
                str(data.outcome_id),
                str(data.amount),
                str(int(new_position)),
                str(coalescer.claim_ms),
            )
            if claimed:
                coalescer.schedule(name, lambda: self.publish_totals(resources, pool_id))

        wallet = WalletUpdated(currency=placed.currency, balance=placed.balance)
        return [Emit("wallet:updated", wallet, user_room(user_id)), Call(update_totals)]

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

    # -- reads and live totals ----------------------------------------------------------------

    async def read(
        self, session: AsyncSession, redis: Redis, pool_id: int, viewer: Principal | None
    ) -> schemas.Pool:
        """A pool as ``viewer`` may see it (with their position). A pool never opened is shown
        only to its channel's staff; anyone else is told it does not exist, as for a pool that
        never did."""
        pool = await pool_repository.get(session, pool_id)
        if pool is None:
            raise PoolNotFound()
        if not published(pool) and not await self._staff_of(session, pool.channel_id, viewer):
            raise PoolNotFound()
        return await self._render(session, redis, pool, viewer.user_id if viewer else None)

    async def view(
        self, session: AsyncSession, redis: Redis, pool_id: int, viewer_id: int | None
    ) -> schemas.Pool:
        """A pool whatever its status, for its own staff, jobs and events (see ``read()``)."""
        pool = await pool_repository.get(session, pool_id)
        if pool is None:
            raise PoolNotFound()
        return await self._render(session, redis, pool, viewer_id)

    async def _render(
        self, session: AsyncSession, redis: Redis, pool: Pool, viewer_id: int | None
    ) -> schemas.Pool:
        outcomes = await pool_repository.outcomes(session, pool.id)
        totals = await self.live_totals(session, redis, pool)
        return await self._view(session, pool, outcomes, totals, viewer_id)

    async def list_for_channel(
        self,
        session: AsyncSession,
        redis: Redis,
        channel_id: int,
        statuses: list[PoolStatus] | None,
        viewer: Principal | None,
    ) -> schemas.PoolList:
        """The channel's pools, newest first; pools never opened only for its staff."""
        channel = await channel_or_404(session, channel_id)
        staff = viewer is not None and await _is_staff(session, channel, viewer)
        pools = await pool_repository.list_for_channel(
            session, channel_id, statuses, published_only=not staff
        )
        outcomes = await pool_repository.outcomes_of(session, [p.id for p in pools])
        viewer_id = viewer.user_id if viewer else None
        views = []
        for pool in pools:
            totals = await self.live_totals(session, redis, pool)
            views.append(await self._view(session, pool, outcomes[pool.id], totals, viewer_id))
        return schemas.PoolList(pools=views)

    async def _staff_of(
        self, session: AsyncSession, channel_id: int, viewer: Principal | None
    ) -> bool:
        if viewer is None:
            return False
        return await _is_staff(session, await channel_or_404(session, channel_id), viewer)

    async def live_totals(
        self, session: AsyncSession, redis: Redis, pool: Pool
    ) -> dict[int, OutcomeTotal]:
        """Totals per outcome from Redis, rebuilt from the bets (the truth) when missing."""
        cached = await redis.hgetall(_totals_key(pool.id))  # type: ignore[misc]
        if cached:
            return {
                int(field[2:]): OutcomeTotal(
                    int(field[2:]), int(value), int(cached.get(f"n:{field[2:]}", 0))
                )
                for field, value in cached.items()
                if field.startswith("t:")
            }
        rows = await pool_repository.totals(session, pool.id)
        if pool.status is not PoolStatus.draft:
            await self._store_totals(redis, pool.id, rows, final=pool.status is not PoolStatus.open)
        return {row.outcome_id: row for row in rows}

    async def publish_totals(self, resources: Resources, pool_id: int) -> None:
        """Push a pool's live totals to its channel (``pool:updated``)."""
        async with read_session(resources) as session:
            try:
                view = await self.view(session, resources.redis, pool_id, None)
            except PoolNotFound:
                return
        update = schemas.PoolTotals(
            id=view.id,
            channel_id=view.channel_id,
            status=view.status,
            total=view.total,
            bettors=view.bettors,
            outcomes=[
                schemas.OutcomeTotals(
                    id=o.id, total=o.total, bettors=o.bettors, multiplier_bps=o.multiplier_bps
                )
                for o in view.outcomes
            ],
        )
        await resources.emitter.emit("pool:updated", update, room=channel_room(view.channel_id))

    async def _view(
        self,
        session: AsyncSession,
        pool: Pool,
        outcomes: list[PoolOutcome],
        totals: dict[int, OutcomeTotal],
        viewer_id: int | None,
    ) -> schemas.Pool:
        staked = sum(t.total for t in totals.values())
        position = None
        if viewer_id is not None:
            row = await pool_repository.position(session, pool.id, viewer_id)
            if row is not None:
                position = schemas.Position(
                    outcome_id=int(row.outcome_id),
                    amount=int(row.amount),
                    payout=paid_out(pool, row.payout),
                )
        return schemas.Pool(
            id=pool.id,
            channel_id=pool.channel_id,
            title=pool.title,
            currency=pool.currency,
            status=pool.status,
            min_stake=pool.min_stake,
            max_stake=pool.max_stake,
            rake_bps=pool.rake_bps,
            window_seconds=pool.window_seconds,
            closes_at=pool.closes_at,
            opened_at=pool.opened_at,
            locked_at=pool.locked_at,
            resolved_at=pool.resolved_at,
            winning_outcome_id=pool.winning_outcome_id,
            settled_at=pool.settled_at,
            cancelled_at=pool.cancelled_at,
            outcomes=[
                schemas.Outcome(
                    id=o.id,
                    position=o.position,
                    label=o.label,
                    total=totals[o.id].total if o.id in totals else 0,
                    bettors=totals[o.id].bettors if o.id in totals else 0,
                    multiplier_bps=parimutuel.multiplier_bps(
                        staked, totals[o.id].total if o.id in totals else 0, pool.rake_bps
                    ),
                )
                for o in outcomes
            ],
            total=staked,
            bettors=sum(t.bettors for t in totals.values()),
            my_position=position,
        )

    async def _store_totals(
        self, redis: Redis, pool_id: int, rows: list[OutcomeTotal], *, final: bool
    ) -> None:
        mapping: dict[str, int] = {"ready": 1}
        for row in rows:
            mapping[f"t:{row.outcome_id}"] = row.total
            mapping[f"n:{row.outcome_id}"] = row.bettors
        if final:
            mapping["final"] = 1
        async with redis.pipeline(transaction=True) as pipe:
            pipe.delete(_totals_key(pool_id))
            pipe.hset(_totals_key(pool_id), mapping=mapping)
            pipe.expire(_totals_key(pool_id), 7 * 24 * 3600)
            await pipe.execute()

    # -- settlement (jobs) --------------------------------------------------------------------

    async def settle(self, session: AsyncSession, resources: Resources, pool_id: int) -> bool:
        """Pay a resolved pool, set-based, in this one transaction. A second run (concurrent,
        or after a crash) finds the pool settled and does nothing."""
        pool = await pool_repository.get_for_update(session, pool_id)
        if pool is None or pool.status is not PoolStatus.resolved:
            return False
        assert pool.winning_outcome_id is not None
        staked, winning = await pool_repository.stake_totals(
            session, pool.id, pool.winning_outcome_id
        )
        terms = parimutuel.terms(staked, winning, pool.rake_bps)
        if terms.refund:
            await pool_repository.stage_refunds(session, pool.id)
        else:
            await pool_repository.stage_payouts(
                session, pool.id, pool.winning_outcome_id, winning, terms.pot
            )
        everyone_back, rake = terms.refund, terms.rake
        await ledger_service.post_staged(
            session,
            key_prefix=f"pool:{pool.id}:{'refund' if everyone_back else 'payout'}",
            kind=TransactionKind.refund if everyone_back else TransactionKind.payout,
            source_account=pool.escrow_account_id,
            currency=pool.currency,
            memo={"pool_id": pool.id},
            ref_name="bet_id",
        )
        if rake:
            house = await ledger_service.system_account(session, AccountKind.house, pool.currency)
            await ledger_service.post_transaction(
                session,
                idempotency_key=f"pool:{pool.id}:rake",
                kind=TransactionKind.rake,
                postings=[
                    Posting(pool.escrow_account_id, pool.currency, -rake),
                    Posting(house, pool.currency, rake),
                ],
                memo={"pool_id": pool.id},
            )
        await self._finish(session, resources, pool, PoolStatus.resolved, PoolStatus.settled)
        pool.rake_amount = rake
        enqueue_after_commit(
            session, "leaderboard.apply_pool", pool.id, job_id=f"leaderboard.apply_pool:{pool.id}"
        )
        return True

    async def refund(self, session: AsyncSession, resources: Resources, pool_id: int) -> bool:
        """Give every stake of a cancelled pool back, exactly; safe to run twice."""
        pool = await pool_repository.get_for_update(session, pool_id)
        if pool is None or pool.status is not PoolStatus.cancelled:
            return False
        await pool_repository.stage_refunds(session, pool.id)
        await ledger_service.post_staged(
            session,
            key_prefix=f"pool:{pool.id}:refund",
            kind=TransactionKind.refund,
            source_account=pool.escrow_account_id,
            currency=pool.currency,
            memo={"pool_id": pool.id},
            ref_name="bet_id",
        )
        await self._finish(session, resources, pool, PoolStatus.cancelled, PoolStatus.refunded)
        return True

    async def _finish(
        self,
        session: AsyncSession,
        resources: Resources,
        pool: Pool,
        current: PoolStatus,
        to: PoolStatus,
    ) -> None:
        await pool_repository.record_payouts(session, pool.id)
        escrow_left = await ledger_service.balance(session, pool.escrow_account_id)
        if escrow_left != 0:  # never expected: refuse to commit a half-paid pool
            raise RuntimeError(f"pool {pool.id} escrow would keep {escrow_left}")
        moved = await pool_repository.transition(session, pool.id, (current,), to)
        assert moved is not None
        await pool_repository.record_transition(session, pool.id, current, to, None)
        await session.refresh(pool)
        event = "pool:settled" if to is PoolStatus.settled else "pool:refunded"
        if published(pool):
            view = await self.view(session, resources.redis, pool.id, None)
            emit_after_commit(session, event, view, room(pool))
        enqueue_after_commit(session, "pool.announce", pool.id, job_id=f"pool.announce:{pool.id}")

    async def announce(self, resources: Resources, pool_id: int) -> int:
        """Tell each bettor of a paid pool what they got: their new balance
        (``wallet:updated``) and a ``notification``, in their own room."""
        async with read_session(resources) as session:
            pool = await pool_repository.get(session, pool_id)
            if pool is None or pool.status not in (PoolStatus.settled, PoolStatus.refunded):
                return 0
            kind = f"pool.{pool.status.value}"
            title, channel_id = pool.title, pool.channel_id
            outcomes = await pool_repository.bettor_outcomes(session, pool_id)
        for outcome in outcomes:
            to = user_room(outcome.user_id)
            wallet = WalletUpdated(currency=outcome.currency, balance=outcome.balance)
            await resources.emitter.emit("wallet:updated", wallet, room=to)
            notice = schemas.PoolNotice(
                kind=kind,
                pool_id=pool_id,
                channel_id=channel_id,
                title=title,
                currency=outcome.currency,
                stake=outcome.stake,
                paid=outcome.paid,
            )
            await resources.emitter.emit("notification", notice, room=to)
        return len(outcomes)

    # -- timers -------------------------------------------------------------------------------

    async def lock_due(self, session: AsyncSession, resources: Resources) -> int:
        """Lock every open pool whose close time has come (cron, every second)."""
        locked = 0
        for pool_id in await pool_repository.due_to_lock(session):
            try:
                async with session.begin_nested():
                    await self.lock(session, resources, None, pool_id)
                locked += 1
            except InvalidTransition:
                continue  # locked by hand meanwhile
        return locked

    async def cancel_stale(self, session: AsyncSession, resources: Resources, hours: int) -> int:
        """Cancel (and so refund) pools left locked and unresolved for ``hours``."""
        cancelled = 0
        for pool_id in await pool_repository.stale_locked(session, hours):
            try:
                async with session.begin_nested():
                    await self.cancel(session, resources, None, pool_id)
                cancelled += 1
            except InvalidTransition:
                continue
        return cancelled

    async def unpaid(self, session: AsyncSession) -> list[tuple[int, PoolStatus]]:
        return await pool_repository.unpaid(session)

    # -- templates ----------------------------------------------------------------------------

    async def create_template(
        self,
        session: AsyncSession,
        settings: Settings,
        actor: Principal,
        channel_id: int,
        data: schemas.TemplateCreate,
    ) -> schemas.Template:
        channel = await channel_or_404(session, channel_id)
        await require_staff(session, channel, actor)
        labels = [label.strip() for label in data.outcomes]
        if len({label.casefold() for label in labels}) != len(labels):
            raise InvalidInput("outcomes", "labels must be distinct")
        if data.max_stake < data.min_stake:
            raise InvalidInput("max_stake", "must be at least min_stake")
        if data.currency == "points" and data.rake_bps:
            raise RakeTooHigh(0)
        if data.rake_bps is not None and data.rake_bps > settings.cash_rake_bps_cap:
            raise RakeTooHigh(settings.cash_rake_bps_cap)
        if await self._template_named(session, channel_id, data.name):
            raise InvalidInput("name", "a template of this channel already has this name")
        template = PoolTemplate(
            channel_id=channel_id,
            name=data.name.strip(),
            title=data.title.strip(),
            outcomes=labels,
            currency_kind=data.currency,
            window_seconds=data.window_seconds,
            min_stake=data.min_stake,
            max_stake=data.max_stake,
            rake_bps=data.rake_bps,
        )
        try:
            async with session.begin_nested():
                await pool_repository.add(session, template)
        except IntegrityError as error:  # the same name, created concurrently
            raise InvalidInput(
                "name", "a template of this channel already has this name"
            ) from error
        return template_view(template)

    async def _template_named(self, session: AsyncSession, channel_id: int, name: str) -> bool:
        return any(
            t.name.casefold() == name.strip().casefold()
            for t in await pool_repository.templates(session, channel_id)
        )

    async def templates(
        self, session: AsyncSession, actor: Principal, channel_id: int
    ) -> schemas.TemplateList:
        channel = await channel_or_404(session, channel_id)
        await require_staff(session, channel, actor)
        return schemas.TemplateList(
            templates=[
                template_view(t) for t in await pool_repository.templates(session, channel_id)
            ]
        )

    async def open_template(
        self,
        session: AsyncSession,
        resources: Resources,
        actor: Principal | None,
        channel_id: int,
        template_id: int,
    ) -> schemas.Pool:
        """Open a pool from a saved template in one call."""
        template = await pool_repository.template(session, template_id)
        if template is None or template.channel_id != channel_id:
            raise NotFound("No such template in this channel.")
        data = schemas.PoolCreate(
            channel_id=channel_id,
            title=template.title,
            outcomes=list(template.outcomes),
            currency="cash" if template.currency_kind == "cash" else "points",
            min_stake=template.min_stake,
            max_stake=template.max_stake,
            rake_bps=template.rake_bps,
            window_seconds=template.window_seconds,
        )
        return await self.create(session, resources, actor, data)


async def _is_staff(session: AsyncSession, channel: Channel, principal: Principal) -> bool:
    return principal.is_admin or await is_staff(session, channel, principal.user_id)


def template_view(template: PoolTemplate) -> schemas.Template:
    return schemas.Template(
        id=template.id,
        channel_id=template.channel_id,
        name=template.name,
        title=template.title,
        outcomes=list(template.outcomes),
        currency=template.currency_kind,
        window_seconds=template.window_seconds,
        min_stake=template.min_stake,
        max_stake=template.max_stake,
        rake_bps=template.rake_bps,
    )


pool_service = PoolService()
