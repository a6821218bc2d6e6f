"""Settlement of pools, in jobs: a resolved pool paid by the parimutuel rule, a cancelled one
refunded exactly, each in one transaction, set-based, safe to run twice. Then, in a job of its
own right after that commits, each bettor is told what they got (their inbox row, pushes,
socket events): once, and again by the sweep if that job is lost. Money moves only through the
ledger."""

from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.effects import emit_after_commit, enqueue_after_commit
from app.kit.resources import Resources
from app.kit.rooms import user_room
from app.kit.uow import read_session
from app.ledger.schemas import WalletUpdated
from app.ledger.service import ledger_service
from app.models.ledger import AccountKind, TransactionKind
from app.models.pool import Pool, PoolStatus
from app.notification.service import notification_service, pool_result_key
from app.pool import parimutuel
from app.pool.repository import pool_repository
from app.pool.views import pool_views, published, room


def settle_job_id(pool_id: int) -> str:
    return f"pool.settle:{pool_id}"


def refund_job_id(pool_id: int) -> str:
    return f"pool.refund:{pool_id}"


def results_job_id(pool_id: int) -> str:
    return f"pool.notify_results:{pool_id}"


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
        # PostgreSQL refuses the transition unless the escrow is now exactly zero
        # (pool_check_escrow_empty): a half-paid pool cannot commit.
        moved = await pool_repository.transition(session, pool.id, (current,), to)
        assert moved is not None
        await pool_repository.record_transition(session, pool.id, current, to, None)
        await session.refresh(pool)
        event = "pool:settled" if to is PoolStatus.settled else "pool:refunded"
        if published(pool):
            view = await pool_views.view(session, resources.redis, pool.id, None)
            emit_after_commit(session, event, view, room(pool))
        # Each bettor's result in their inbox, after the money (writing 100,000 rows would
        # take twice as long as paying them); the pool stays unmarked until that job commits,
        # so the sweep finds it if the job is lost.
        enqueue_after_commit(
            session, "pool.notify_results", pool.id, job_id=results_job_id(pool.id)
        )
        # The chats of the channel's linked platforms hear the result (app.command, which this
        # package must not import: it builds on the pool services).
        enqueue_after_commit(
            session, "command.announce_result", pool.id, job_id=f"command.announce_result:{pool.id}"
        )

    async def notify_results(self, session: AsyncSession, pool_id: int) -> int:
        """Each bettor's result of a paid pool in their inbox (won, lost or refunded), in one
        set-based statement, and the pool marked told; after commit, their pushes and the
        socket events (``pool.announce``). Safe to run twice, even at once: one row per bettor
        (``NotificationService.pool_results``), one push per device. Returns the rows
        written."""
        pool = await pool_repository.paid_for_results(session, pool_id)
        if pool is None:
            return 0
        if pool.results_notified_at is not None:
            # Told already; a run after a crash still pushes what is left, once per device.
            notification_service.push_later(session, pool_result_key(pool.id))
            return 0
        refund = pool.status is PoolStatus.refunded
        if not refund:
            assert pool.winning_outcome_id is not None
            staked, winning = await pool_repository.stake_totals(
                session, pool.id, pool.winning_outcome_id
            )
            refund = parimutuel.refunds_everyone(staked, winning)
        created = await notification_service.pool_results(session, pool.id, refund=refund)
        await pool_repository.mark_results_notified(session, pool.id)
        if created:
            enqueue_after_commit(
                session, "pool.announce", pool.id, job_id=f"pool.announce:{pool.id}"
            )
        return created

    async def results_untold(self, session: AsyncSession) -> list[int]:
        return await pool_repository.results_untold(session)

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
