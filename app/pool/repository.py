"""All SQL of pools and bets, including the set-based settlement."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.models.pool import (
    Pool,
    PoolOutcome,
    PoolStatus,
    PoolTemplate,
    PoolTransition,
)

# Staged payouts of one settlement, posted by the ledger's ledger_post_staged(); each row's
# ledger transaction id is drawn up front, so the transactions and their entries are written by
# plain set-based inserts (no join back).
STAGING_TABLE = (
    "CREATE TEMP TABLE payouts (ref_id bigint PRIMARY KEY, account_id bigint NOT NULL,"
    " amount bigint NOT NULL,"
    " tx_id bigint NOT NULL DEFAULT nextval('ledger_transactions_id_seq')) ON COMMIT DROP"
)


@dataclass(frozen=True, slots=True)
class BettorOutcome:
    user_id: int
    currency: str
    balance: int
    stake: int
    paid: int


@dataclass(frozen=True, slots=True)
class PaidPool:
    """A paid pool, as its results job sees it."""

    id: int
    status: PoolStatus
    winning_outcome_id: int | None
    results_notified_at: datetime | None


@dataclass(frozen=True, slots=True)
class OutcomeTotal:
    outcome_id: int
    total: int
    bettors: int


@dataclass(frozen=True, slots=True)
class BetRequest:
    user_id: int
    idempotency_key: str
    #: Identifies the body sent with the key: the same key with another body is refused.
    digest: bytes
    pool_id: int
    outcome_id: int
    amount: int


@dataclass(frozen=True, slots=True)
class Placement:
    """What ``place_bet()`` answered: ``status`` is ``placed``, ``replayed`` or the refusal."""

    status: str
    bet_id: int | None
    outcome_id: int | None
    position: int | None
    balance: int | None
    currency: str | None
    pool_status: str | None
    min_stake: int | None
    max_stake: int | None


@dataclass(frozen=True, slots=True)
class LiveTerms:
    """What a pool's live totals are shown with."""

    channel_id: int
    status: PoolStatus
    rake_bps: int
    #: In the pool's order.
    outcome_ids: list[int]


class PoolRepository:
    async def add(self, session: AsyncSession, row: Pool | PoolOutcome | PoolTemplate) -> None:
        session.add(row)
        await session.flush()

    async def get(self, session: AsyncSession, pool_id: int) -> Pool | None:
        return await session.get(Pool, pool_id)

    async def get_for_update(self, session: AsyncSession, pool_id: int) -> Pool | None:
        result = await session.execute(
            select(Pool)
            .where(Pool.id == pool_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return result.scalar_one_or_none()

    async def outcomes(self, session: AsyncSession, pool_id: int) -> list[PoolOutcome]:
        result = await session.execute(
            select(PoolOutcome).where(PoolOutcome.pool_id == pool_id).order_by(PoolOutcome.position)
        )
        return list(result.scalars())

    async def outcomes_of(
        self, session: AsyncSession, pool_ids: list[int]
    ) -> dict[int, list[PoolOutcome]]:
        result = await session.execute(
            select(PoolOutcome)
            .where(PoolOutcome.pool_id.in_(pool_ids))
            .order_by(PoolOutcome.pool_id, PoolOutcome.position)
        )
        grouped: dict[int, list[PoolOutcome]] = {pool_id: [] for pool_id in pool_ids}
        for outcome in result.scalars():
            grouped[outcome.pool_id].append(outcome)
        return grouped

    async def list_for_channel(
        self,
        session: AsyncSession,
        channel_id: int,
        statuses: list[PoolStatus] | None,
        *,
        published_only: bool = False,
    ) -> list[Pool]:
        query = (
            select(Pool).where(Pool.channel_id == channel_id).order_by(Pool.id.desc()).limit(100)
        )
        if statuses:
            query = query.where(Pool.status.in_(statuses))
        if published_only:
            query = query.where(Pool.opened_at.is_not(None))
        return list((await session.execute(query)).scalars())

    async def transition(
        self,
        session: AsyncSession,
        pool_id: int,
        allowed_from: tuple[PoolStatus, ...],
        to: PoolStatus,
        winning_outcome_id: int | None = None,
    ) -> tuple[PoolStatus, datetime] | None:
        """Move the pool to ``to`` if (and only if) it is in one of ``allowed_from``: a
        conditional UPDATE, so each transition happens once however many ask at once. Stamps
        ``<to>_at``; opening starts the betting window. Returns the status it left and the
        time, or None."""
        stamp = "opened_at" if to is PoolStatus.open else f"{to.value}_at"
        extra = ""
        if to is PoolStatus.open:
            extra = (
                ", closes_at = coalesce(p.closes_at,"
                " now() + make_interval(secs => p.window_seconds))"
            )
        if winning_outcome_id is not None:
            extra += ", winning_outcome_id = :winner"
        result = await session.execute(
            text(
                # Only fixed column names are interpolated, never input.
                f"UPDATE pools p SET status = :to, {stamp} = now(){extra}"  # noqa: S608
                " FROM (SELECT id, status FROM pools WHERE id = :id FOR UPDATE) old"
                " WHERE p.id = old.id AND old.status = ANY(CAST(:allowed AS pool_status[]))"
                " RETURNING old.status, now()"
            ),
            {
                "id": pool_id,
                "to": to.value,
                "allowed": [s.value for s in allowed_from],
                "winner": winning_outcome_id,
            },
        )
        row = result.one_or_none()
        return (PoolStatus(row[0]), row[1]) if row else None

    async def record_transition(
        self,
        session: AsyncSession,
        pool_id: int,
        from_status: PoolStatus,
        to_status: PoolStatus,
        actor_id: int | None,
        details: dict[str, Any] | None = None,
    ) -> None:
        session.add(
            PoolTransition(
                pool_id=pool_id,
                from_status=from_status.value,
                to_status=to_status.value,
                actor_id=actor_id,
                actor_kind="user" if actor_id is not None else "automation",
                details=details or {},
            )
        )
        await session.flush()

    async def totals(self, session: AsyncSession, pool_id: int) -> list[OutcomeTotal]:
        result = await session.execute(
            text(
                "SELECT outcome_id, sum(amount) AS total, count(*) AS bettors FROM bets"
                " WHERE pool_id = :pool GROUP BY outcome_id"
            ),
            {"pool": pool_id},
        )
        return [OutcomeTotal(int(r.outcome_id), int(r.total), int(r.bettors)) for r in result]

    async def position(self, session: AsyncSession, pool_id: int, user_id: int) -> Any:
        result = await session.execute(
            text(
                "SELECT outcome_id, amount, payout FROM bets"
                " WHERE pool_id = :pool AND user_id = :user"
            ),
            {"pool": pool_id, "user": user_id},
        )
        return result.one_or_none()

    async def top_payouts(self, session: AsyncSession, pool_id: int, limit: int) -> Any:
        """The pool's largest payouts, largest first (ties: the earlier position first)."""
        result = await session.execute(
            text(
                "SELECT u.display_name, b.outcome_id, b.amount, b.payout FROM bets b"
                " JOIN users u ON u.id = b.user_id"
                " WHERE b.pool_id = :pool AND b.payout > 0"
                " ORDER BY b.payout DESC, b.id LIMIT :limit"
            ),
            {"pool": pool_id, "limit": limit},
        )
        return result.all()

    async def bets_page(
        self, session: AsyncSession, pool_id: int, before_id: int | None, limit: int
    ) -> list[Any]:
        """Positions in the pool with their bettors' display names, newest first, older than
        bet ``before_id`` when given (id, user_id, display_name, outcome_id, amount, payout,
        created_at, updated_at)."""
        result = await session.execute(
            text(
                "SELECT b.id, b.user_id, u.display_name, b.outcome_id, b.amount, b.payout,"
                " b.created_at, b.updated_at FROM bets b JOIN users u ON u.id = b.user_id"
                " WHERE b.pool_id = :pool AND (CAST(:before AS bigint) IS NULL OR b.id < :before)"
                " ORDER BY b.id DESC LIMIT :limit"
            ),
            {"pool": pool_id, "before": before_id, "limit": limit},
        )
        return list(result)

    async def holds_position(self, session: AsyncSession, pool_id: int, user_id: int) -> bool:
        """Whether the user has bet in the pool, themselves or through an account merged into
        theirs (a chat-only account whose bets stay in its name)."""
        result = await session.execute(
            text(
                "SELECT EXISTS (SELECT 1 FROM bets b JOIN users u ON u.id = b.user_id"
                " WHERE b.pool_id = :pool AND (u.id = :user OR u.merged_into = :user))"
            ),
            {"pool": pool_id, "user": user_id},
        )
        return bool(result.scalar_one())

    async def live_terms(self, session: AsyncSession, pool_id: int) -> LiveTerms | None:
        """A pool's channel, status, rake and outcomes, in one round trip and no ORM (read a
        few times a second per pool while it takes bets)."""
        row = (
            await session.execute(
                text(
                    "SELECT p.channel_id, p.status::text AS status, p.rake_bps,"
                    " array(SELECT o.id FROM pool_outcomes o WHERE o.pool_id = p.id"
                    " ORDER BY o.position) AS outcome_ids FROM pools p WHERE p.id = :pool"
                ),
                {"pool": pool_id},
            )
        ).one_or_none()
        if row is None:
            return None
        return LiveTerms(
            int(row.channel_id), PoolStatus(row.status), int(row.rake_bps), list(row.outcome_ids)
        )

    # -- bets ---------------------------------------------------------------------------------

    async def place_bet(
        self,
        session: AsyncSession,
        user_id: int,
        idempotency_key: str,
        fingerprint: bytes,
        pool_id: int,
        outcome_id: int,
        amount: int,
        cash_cleared: bool,
    ) -> Placement:
        """One round trip: the bet's checks, stake and ledger transaction (the SQL function
        ``place_bet``, ``app/pool/sql/place_bet.sql``)."""
        result = await session.execute(
            text(
                "SELECT * FROM place_bet(:user, :key, :fingerprint, :pool, :outcome, :amount,"
                " :cash_cleared)"
            ),
            {
                "user": user_id,
                "key": idempotency_key,
                "fingerprint": fingerprint,
                "pool": pool_id,
                "outcome": outcome_id,
                "amount": amount,
                "cash_cleared": cash_cleared,
            },
        )
        return Placement(*result.one())

    async def place_bets(
        self, session: AsyncSession | AsyncConnection, bets: Sequence[BetRequest]
    ) -> list[Placement]:
        """Many bets in one call (``place_bets``, ``app/pool/sql/place_bets.sql``), each
        answered as ``place_bet`` would, one after another; a refused one writes nothing."""
        result = await session.execute(
            text(
                "SELECT status, bet_id, outcome_id, new_position, balance, currency, pool_status,"
                " min_stake, max_stake FROM place_bets("
                " CAST(:users AS bigint[]), CAST(:keys AS text[]), CAST(:digests AS bytea[]),"
                " CAST(:pools AS bigint[]), CAST(:outcomes AS bigint[]),"
                " CAST(:amounts AS bigint[])) ORDER BY idx"
            ),
            {
                "users": [b.user_id for b in bets],
                "keys": [b.idempotency_key for b in bets],
                "digests": [b.digest for b in bets],
                "pools": [b.pool_id for b in bets],
                "outcomes": [b.outcome_id for b in bets],
                "amounts": [b.amount for b in bets],
            },
        )
        return [Placement(*row) for row in result]

    # -- settlement ---------------------------------------------------------------------------

    async def stake_totals(
        self, session: AsyncSession, pool_id: int, winning_outcome_id: int
    ) -> tuple[int, int]:
        """(All stakes ``S``, the stakes on the winning outcome ``W``)."""
        totals = (
            await session.execute(
                text(
                    "SELECT coalesce(sum(amount), 0) AS s,"
                    " coalesce(sum(amount) FILTER (WHERE outcome_id = :win), 0) AS w"
                    " FROM bets WHERE pool_id = :pool"
                ),
                {"pool": pool_id, "win": winning_outcome_id},
            )
        ).one()
        return int(totals.s), int(totals.w)

    async def stage_payouts(
        self, session: AsyncSession, pool_id: int, winning_outcome_id: int, winning: int, pot: int
    ) -> None:
        """Split ``pot`` among the winners (``winning`` staked on ``winning_outcome_id``) into
        the temporary table ``payouts`` (ref_id = bet id, account_id = wallet, amount), in one
        statement: the set-based form of ``app.pool.parimutuel.payouts`` (the pot and the
        refund decision come from there), each winner's share rounded down, the leftover
        units one each to the largest remainders, ties to the earliest position."""
        await session.execute(text(STAGING_TABLE))
        await session.execute(
            text(
                # div() and mod() on numeric are exact; floor(a / b) would go through a
                # rounded quotient and can be one unit off for huge stakes.
                "WITH shares AS ("
                "  SELECT id, wallet_account_id, amount * CAST(:pot AS numeric) AS product"
                "  FROM bets WHERE pool_id = :pool AND outcome_id = :win"
                "), split AS ("
                "  SELECT id, wallet_account_id, div(product, :w) AS base, mod(product, :w) AS rem"
                "  FROM shares"
                "), ranked AS ("
                "  SELECT id, wallet_account_id, base,"
                "   row_number() OVER (ORDER BY rem DESC, id) AS rank,"
                "   :pot - sum(base) OVER () AS leftover"
                "  FROM split"
                ") INSERT INTO payouts (ref_id, account_id, amount)"
                " SELECT id, wallet_account_id,"
                "  CAST(base + CASE WHEN rank <= leftover THEN 1 ELSE 0 END AS bigint) FROM ranked"
            ),
            {"pool": pool_id, "win": winning_outcome_id, "w": winning, "pot": pot},
        )

    async def stage_refunds(self, session: AsyncSession, pool_id: int) -> int:
        """Every position's stake, back to its wallet, into ``payouts``."""
        await session.execute(text(STAGING_TABLE))
        result = await session.execute(
            text(
                "INSERT INTO payouts (ref_id, account_id, amount)"
                " SELECT id, wallet_account_id, amount FROM bets WHERE pool_id = :pool"
            ),
            {"pool": pool_id},
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def record_payouts(self, session: AsyncSession, pool_id: int) -> None:
        """Write the payout of each position that got one, from the staged ``payouts``. The
        others keep NULL: in a paid pool that reads as 0 (``paid_out``), and not rewriting
        every losing row keeps settlement about twice as fast."""
        await session.execute(
            text(
                "UPDATE bets b SET payout = p.amount FROM payouts p"
                " WHERE p.ref_id = b.id AND b.pool_id = :pool"
            ),
            {"pool": pool_id},
        )

    async def bettor_outcomes(self, session: AsyncSession, pool_id: int) -> list[BettorOutcome]:
        """Each bettor of a paid pool: stake, what came back, and their wallet's balance now."""
        result = await session.execute(
            text(
                "SELECT b.user_id, p.currency, a.balance, b.amount,"
                " CASE WHEN p.status = 'refunded' THEN b.amount ELSE coalesce(b.payout, 0) END"
                " AS paid"
                " FROM bets b JOIN pools p ON p.id = b.pool_id"
                " JOIN accounts a ON a.id = b.wallet_account_id"
                " WHERE b.pool_id = :pool ORDER BY b.id"
            ),
            {"pool": pool_id},
        )
        return [
            BettorOutcome(int(r.user_id), r.currency, int(r.balance), int(r.amount), int(r.paid))
            for r in result
        ]

    async def due_to_lock(self, session: AsyncSession) -> list[int]:
        result = await session.execute(
            text(
                "SELECT id FROM pools WHERE status = 'open' AND closes_at <= now()"
                " ORDER BY closes_at LIMIT 500"
            )
        )
        return [int(i) for i in result.scalars()]

    async def stale_locked(self, session: AsyncSession, hours: int) -> list[int]:
        result = await session.execute(
            text(
                "SELECT id FROM pools WHERE status = 'locked'"
                " AND locked_at < now() - make_interval(hours => :hours) LIMIT 500"
            ),
            {"hours": hours},
        )
        return [int(i) for i in result.scalars()]

    async def unpaid(self, session: AsyncSession) -> list[tuple[int, PoolStatus]]:
        """Pools resolved or cancelled, not yet paid, that nobody is paying right now: a
        settlement or refund holds its pool's row lock until it commits, so those are skipped
        (a job that died released it)."""
        result = await session.execute(
            text(
                "SELECT id, status FROM pools WHERE status IN ('resolved', 'cancelled')"
                " ORDER BY id LIMIT 1000 FOR UPDATE SKIP LOCKED"
            )
        )
        return [(int(r.id), PoolStatus(r.status)) for r in result]

    async def paid_for_results(self, session: AsyncSession, pool_id: int) -> PaidPool | None:
        """The pool if it is paid (settled or refunded), its row held until commit in the
        weakest mode there is (``FOR KEY SHARE``): bets and updates of the pool pass, the
        results sweep's ``FOR UPDATE SKIP LOCKED`` skips it while its job runs."""
        result = await session.execute(
            text(
                "SELECT id, status, winning_outcome_id, results_notified_at FROM pools"
                " WHERE id = :id AND status IN ('settled', 'refunded') FOR KEY SHARE"
            ),
            {"id": pool_id},
        )
        row = result.first()
        if row is None:
            return None
        return PaidPool(
            int(row.id), PoolStatus(row.status), row.winning_outcome_id, row.results_notified_at
        )

    async def mark_results_notified(self, session: AsyncSession, pool_id: int) -> None:
        await session.execute(
            text(
                "UPDATE pools SET results_notified_at = now()"
                " WHERE id = :id AND results_notified_at IS NULL"
            ),
            {"id": pool_id},
        )

    async def results_untold(self, session: AsyncSession) -> list[int]:
        """Paid pools whose bettors were never told their result (a job lost or killed), but
        those whose results job is running right now (it holds the row: skipped)."""
        result = await session.execute(
            text(
                "SELECT id FROM pools WHERE status IN ('settled', 'refunded')"
                " AND results_notified_at IS NULL"
                " ORDER BY id LIMIT 1000 FOR UPDATE SKIP LOCKED"
            )
        )
        return [int(i) for i in result.scalars()]

    async def templates(self, session: AsyncSession, channel_id: int) -> list[PoolTemplate]:
        result = await session.execute(
            select(PoolTemplate)
            .where(PoolTemplate.channel_id == channel_id)
            .order_by(PoolTemplate.name)
        )
        return list(result.scalars())

    async def template(self, session: AsyncSession, template_id: int) -> PoolTemplate | None:
        return await session.get(PoolTemplate, template_id)


pool_repository = PoolRepository()
