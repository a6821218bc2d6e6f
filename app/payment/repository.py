"""SQL of deposits and withdrawals."""

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.ledger import Account
from app.models.payment import Deposit, DepositStatus, Withdrawal, WithdrawalStatus


class PaymentRepository:
    async def now(self, session: AsyncSession) -> datetime:
        """The transaction's time, as the database has it."""
        return (await session.execute(select(func.now()))).scalar_one()

    async def add(self, session: AsyncSession, row: Deposit | Withdrawal) -> None:
        session.add(row)
        await session.flush()

    async def deposit_for_update(
        self,
        session: AsyncSession,
        *,
        deposit_id: int | None = None,
        checkout_session_id: str | None = None,
        payment_intent_id: str | None = None,
    ) -> Deposit | None:
        """Find a deposit by any of its Stripe ids and lock it: events about one deposit are
        applied one at a time."""
        query = select(Deposit).with_for_update()
        if deposit_id is not None:
            query = query.where(Deposit.id == deposit_id)
        elif checkout_session_id is not None:
            query = query.where(Deposit.checkout_session_id == checkout_session_id)
        elif payment_intent_id is not None:
            query = query.where(Deposit.payment_intent_id == payment_intent_id)
        else:
            return None
        return (await session.execute(query)).scalar_one_or_none()

    async def deposits_owing(
        self, session: AsyncSession, user_id: int, currency: str
    ) -> list[Deposit]:
        """The user's deposits in ``currency`` whose reversal is not fully recovered, locked."""
        result = await session.execute(
            select(Deposit)
            .where(
                Deposit.user_id == user_id,
                Deposit.currency == currency,
                Deposit.owed_amount > 0,
            )
            .order_by(Deposit.id)
            .with_for_update()
        )
        return list(result.scalars())

    async def deposits_of(self, session: AsyncSession, user_id: int) -> list[Deposit]:
        result = await session.execute(
            select(Deposit).where(Deposit.user_id == user_id).order_by(Deposit.id.desc()).limit(100)
        )
        return list(result.scalars())

    async def held_deposits(self, session: AsyncSession) -> list[Deposit]:
        """Deposits held for an admin's review, oldest first."""
        result = await session.execute(
            select(Deposit)
            .where(Deposit.status == DepositStatus.held)
            .order_by(Deposit.id)
            .limit(200)
        )
        return list(result.scalars())

    async def withdrawal(self, session: AsyncSession, withdrawal_id: int) -> Withdrawal | None:
        return await session.get(Withdrawal, withdrawal_id)

    async def withdrawal_by_key(
        self, session: AsyncSession, user_id: int, idempotency_key: str
    ) -> Withdrawal | None:
        result = await session.execute(
            select(Withdrawal).where(
                Withdrawal.user_id == user_id, Withdrawal.idempotency_key == idempotency_key
            )
        )
        return result.scalar_one_or_none()

    async def withdrawals(
        self, session: AsyncSession, *, user_id: int | None, status: WithdrawalStatus | None
    ) -> list[Withdrawal]:
        query = select(Withdrawal).order_by(Withdrawal.id.desc()).limit(200)
        if user_id is not None:
            query = query.where(Withdrawal.user_id == user_id)
        if status is not None:
            query = query.where(Withdrawal.status == status)
        return list((await session.execute(query)).scalars())

    async def decide_withdrawal(
        self,
        session: AsyncSession,
        withdrawal_id: int,
        *,
        status: WithdrawalStatus,
        decided_by: int,
        now: datetime,
        payout_reference: str | None = None,
        reason: str | None = None,
    ) -> Withdrawal | None:
        """Move a pending withdrawal to its decision, once: None if it was not pending."""
        result = await session.execute(
            update(Withdrawal)
            .where(Withdrawal.id == withdrawal_id, Withdrawal.status == WithdrawalStatus.pending)
            .values(
                status=status,
                decided_by=decided_by,
                decided_at=now,
                payout_reference=payout_reference,
                reason=reason,
            )
            .returning(Withdrawal)
        )
        return result.scalar_one_or_none()

    async def wallet_balance_for_update(self, session: AsyncSession, wallet: int) -> int:
        """The wallet's cached balance, its row locked until the transaction ends."""
        result = await session.execute(
            select(Account.balance).where(Account.id == wallet).with_for_update()
        )
        return result.scalar_one() or 0  # a wallet always keeps its balance

    async def wallet_frozen_for_share(self, session: AsyncSession, wallet: int) -> bool:
        """Whether the wallet is frozen, holding its row so a reversal cannot freeze it until
        this transaction ends."""
        result = await session.execute(
            select(Account.frozen).where(Account.id == wallet).with_for_update(read=True)
        )
        return bool(result.scalar_one())


payment_repository = PaymentRepository()
