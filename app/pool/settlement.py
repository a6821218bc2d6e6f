"""Settlement of pools, in jobs: a resolved pool paid by the parimutuel rule, a cancelled one
refunded exactly, each in one transaction, set-based, safe to run twice; then each bettor is
told what they got. Money moves only through the ledger."""

from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.effects import emit_after_commit, enqueue_after_commit
from app.kit.resources import Resources
from app.kit.rooms import user_room
from app.kit.uow import read_session
from app.ledger.schemas import WalletUpdated
from app.ledger.service import ledger_service
from app.models.ledger import AccountKind, TransactionKind
from app.models.pool import Pool, PoolStatus
from app.notification.service import notification_service
from app.pool import parimutuel
from app.pool.repository import pool_repository
from app.pool.views import pool_views, published, room


def settle_job_id(pool_id: int) -> str:
    return f"pool.settle:{pool_id}"


def refund_job_id(pool_id: int) -> str:
    return f"pool.refund:{pool_id}"


class SettlementService:
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
            await ledger_service.transfer(
                session,
                pool.escrow_account_id,
                house,
                rake,
                pool.currency,
                key=f"pool:{pool.id}:rake",
                kind=TransactionKind.rake,
                memo={"pool_id": pool.id},
            )
        await self._finish(
            session, resources, pool, PoolStatus.resolved, PoolStatus.settled, everyone_back
        )
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
        await self._finish(
            session, resources, pool, PoolStatus.cancelled, PoolStatus.refunded, True
        )
        return True

    async def _finish(
        self,
        session: AsyncSession,
        resources: Resources,
        pool: Pool,
        current: PoolStatus,
        to: PoolStatus,
        refund: bool,
    ) -> None:
        await pool_repository.record_payouts(session, pool.id)
        # PostgreSQL refuses the transition unless the escrow is now exactly zero
        # (pool_check_escrow_empty): a half-paid pool cannot commit.
        moved = await pool_repository.transition(session, pool.id, (current,), to)
        assert moved is not None
        await pool_repository.record_transition(session, pool.id, current, to, None)
        # Each bettor's result in their inbox, committed with the money it reports.
        await notification_service.pool_results(session, pool.id, refund=refund)
        await session.refresh(pool)
        event = "pool:settled" if to is PoolStatus.settled else "pool:refunded"
        if published(pool):
            view = await pool_views.view(session, resources.redis, pool.id, None)
            emit_after_commit(session, event, view, room(pool))
        enqueue_after_commit(session, "pool.announce", pool.id, job_id=f"pool.announce:{pool.id}")
        # The chats of the channel's linked platforms hear the result (app.command, which this
        # package must not import: it builds on the pool services).
        enqueue_after_commit(
            session, "command.announce_result", pool.id, job_id=f"command.announce_result:{pool.id}"
        )

    async def announce(self, resources: Resources, pool_id: int) -> int:
        """Tell each bettor of a paid pool what they got: their new balance
        (``wallet:updated``) and their result (``notification``, the row in their inbox), in
        their own room."""
        async with read_session(resources) as session:
            pool = await pool_repository.get(session, pool_id)
            if pool is None or pool.status not in (PoolStatus.settled, PoolStatus.refunded):
                return 0
            outcomes = await pool_repository.bettor_outcomes(session, pool_id)
            notices = await notification_service.pool_result_notices(session, pool_id)
        for outcome in outcomes:
            to = user_room(outcome.user_id)
            wallet = WalletUpdated(currency=outcome.currency, balance=outcome.balance)
            await resources.emitter.emit("wallet:updated", wallet, room=to)
            notice = notices.get(outcome.user_id)
            if notice is not None:
                await resources.emitter.emit("notification", notice, room=to)
        return len(outcomes)

    async def unpaid(self, session: AsyncSession) -> list[tuple[int, PoolStatus]]:
        return await pool_repository.unpaid(session)


pool_settlement = SettlementService()
