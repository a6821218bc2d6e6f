"""Deposits through Stripe Checkout, Stripe's events applied in any order, and withdrawals
reviewed by an admin. All money moves through the ledger."""

import logging
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.currency import cash, cash_code
from app.kit.errors import Forbidden
from app.kit.resources import Resources
from app.ledger.errors import WalletFrozen
from app.ledger.repository import ledger_repository
from app.ledger.service import ledger_service
from app.models.inbox import InboxEvent
from app.models.ledger import AccountKind, TransactionKind
from app.models.notification import NotificationKind
from app.models.payment import Deposit, DepositStatus, Withdrawal, WithdrawalStatus
from app.notification.service import amount_words, notification_service
from app.payment import schemas
from app.payment.errors import (
    AmountOutOfRange,
    DepositNotFound,
    DepositNotHeld,
    IdempotencyKeyConflict,
    PaymentProviderUnavailable,
    PaymentsNotConfigured,
    SelfApproval,
    StripeEventNotReady,
    UnsupportedCurrency,
    WithdrawalAlreadyDecided,
    WithdrawalNotFound,
)
from app.payment.repository import payment_repository
from app.protection.service import protection_service
from app.settings import Settings
from app.user.repository import user_repository
from integrations.stripe import webhooks as stripe_events
from integrations.stripe.client import (
    CheckoutSession,
    StripeClient,
    StripeError,
    StripeUnavailable,
)

log = logging.getLogger(__name__)

PAID_EVENTS = {"checkout.session.completed", "checkout.session.async_payment_succeeded"}
#: Decided by an admin or waiting for one: Stripe's events no longer change these deposits.
UNDER_REVIEW = (DepositStatus.held, DepositStatus.rejected)


def deposit_view(deposit: Deposit) -> schemas.Deposit:
    return schemas.Deposit(
        id=deposit.id,
        amount=deposit.amount,
        currency=deposit.currency,
        status=deposit.status,
        checkout_url=deposit.checkout_url if deposit.status is DepositStatus.pending else None,
        refunded_amount=deposit.reversed_amount + deposit.owed_amount,
        owed_amount=deposit.owed_amount,
        created_at=deposit.created_at,
    )


def deposit_review_view(deposit: Deposit) -> schemas.DepositReview:
    return msgspec.convert(deposit, schemas.DepositReview, from_attributes=True)


def paid_as_asked(deposit: Deposit, paid: CheckoutSession) -> bool:
    """Whether Stripe's session charged what the deposit asked for. Both amounts are in the
    currency's minor unit (we sent ours as the unit amount); Stripe writes currencies as
    lowercase ISO codes, ours is ``cash:USD``."""
    asked = cash_code(deposit.currency)
    return (
        paid.amount_total == deposit.amount
        and paid.currency is not None
        and paid.currency.casefold() == asked.casefold()
    )


def withdrawal_view(withdrawal: Withdrawal) -> schemas.Withdrawal:
    return msgspec.convert(withdrawal, schemas.Withdrawal, from_attributes=True)


async def _now(session: AsyncSession) -> datetime:
    return await payment_repository.now(session)


class PaymentService:
    # -- deposits ----------------------------------------------------------------------------

    async def create_deposit(
        self,
        session: AsyncSession,
        resources: Resources,
        user_id: int,
        data: schemas.DepositCreate,
    ) -> schemas.Deposit:
        """Open a Stripe Checkout for a cash deposit. The wallet is credited when Stripe says
        the payment succeeded, never before."""
        settings = resources.settings
        stripe = self._stripe(resources)
        self._check_cash(settings, data.currency, data.amount, settings.deposit_max)
        await protection_service.reserve_deposit(session, settings, user_id, data.amount)
        deposit = Deposit(user_id=user_id, currency=data.currency, amount=data.amount)
        await payment_repository.add(session, deposit)
        user_email = await user_repository.email(session, user_id)
        try:
            checkout = await stripe.create_checkout_session(
                amount=data.amount,
                currency=cash_code(data.currency),
                description="streampools wallet deposit",
                client_reference_id=str(deposit.id),
                metadata={"deposit_id": str(deposit.id), "user_id": str(user_id)},
                customer_email=user_email,
                success_url=settings.checkout_success_url,
                cancel_url=settings.checkout_cancel_url,
                idempotency_key=f"streampools-deposit-{deposit.id}",
            )
        except StripeUnavailable as error:
            log.warning("stripe unavailable", exc_info=True)
            raise PaymentProviderUnavailable() from error
        except StripeError as error:
            log.error("stripe refused a checkout session", exc_info=True)
            raise PaymentProviderUnavailable(
                "The payment provider refused the request; nothing was charged."
            ) from error
        deposit.checkout_session_id = checkout.id
        deposit.checkout_url = checkout.url
        await session.flush()
        return deposit_view(deposit)

    async def deposits(self, session: AsyncSession, user_id: int) -> schemas.DepositList:
        rows = await payment_repository.deposits_of(session, user_id)
        return schemas.DepositList(deposits=[deposit_view(d) for d in rows])

    async def handle_stripe_event(
        self, session: AsyncSession, resources: Resources, event: InboxEvent
    ) -> None:
        """Apply one stored Stripe event. Whatever order, or however often, events arrive, a
        deposit ends the same: credited once if it was ever paid, minus whatever Stripe
        refunded or disputed (taken back from the wallet; what was already spent is owed
        and freezes the wallet)."""
        parsed = stripe_events.StripeEvent(
            id=event.external_id,
            type=event.event_type,
            created=int(event.payload.get("created", 0)),
            livemode=bool(event.payload.get("livemode", False)),
            data_object=dict(event.payload.get("data", {}).get("object", {})),
        )
        deposit: Deposit | None
        if parsed.type.startswith("checkout.session."):
            session_object = stripe_events.checkout_session(parsed)
            deposit = await payment_repository.deposit_for_update(
                session, checkout_session_id=session_object.id
            )
            if deposit is None:
                log.warning("checkout session of no deposit", extra={"session": session_object.id})
                return
            if session_object.payment_intent and deposit.payment_intent_id is None:
                deposit.payment_intent_id = session_object.payment_intent
            if deposit.status in UNDER_REVIEW:
                log.warning(
                    "stripe event for deposit %s under review left to the admin",
                    deposit.id,
                    extra={"event": parsed.id, "type": parsed.type},
                )
                deposit.updated_at = await _now(session)
                return
            if (
                parsed.type in PAID_EVENTS and session_object.payment_status == "paid"
            ) or parsed.type == "checkout.session.async_payment_succeeded":
                if not paid_as_asked(deposit, session_object):
                    if not deposit.paid:
                        await self._hold(session, deposit, session_object)
                        return
                    log.error(
                        "stripe reported %s %s for deposit %s, already credited as %s %s; ignored",
                        session_object.amount_total,
                        session_object.currency,
                        deposit.id,
                        deposit.amount,
                        deposit.currency,
                    )
                deposit.paid = True
            elif parsed.type == "checkout.session.async_payment_failed" and not deposit.paid:
                deposit.status = DepositStatus.failed
            elif parsed.type == "checkout.session.expired" and not deposit.paid:
                deposit.status = DepositStatus.expired
        elif parsed.type in ("charge.refunded", "charge.dispute.created"):
            if parsed.type == "charge.refunded":
                charge = stripe_events.charge(parsed)
                payment_intent, taken = charge.payment_intent, charge.amount_refunded
            else:
                dispute = stripe_events.dispute(parsed)
                payment_intent, taken = dispute.payment_intent, dispute.amount
            deposit = await payment_repository.deposit_for_update(
                session, payment_intent_id=payment_intent
            )
            if deposit is None:
                # Its checkout event has not been applied yet: retry once it has.
                raise StripeEventNotReady(f"no deposit for payment intent {payment_intent}")
            if parsed.type == "charge.refunded":
                deposit.refunded_amount = max(deposit.refunded_amount, taken)
            else:
                deposit.disputed_amount = max(deposit.disputed_amount, taken)
        else:
            return  # an event type we do not subscribe to
        await self._reconcile(session, deposit)

    async def _hold(self, session: AsyncSession, deposit: Deposit, paid: CheckoutSession) -> None:
        """Stripe charged another amount or currency than the deposit asked for: credit
        nothing, keep what Stripe reported, and tell every admin after commit."""
        deposit.status = DepositStatus.held
        deposit.reported_amount = paid.amount_total
        deposit.reported_currency = paid.currency
        deposit.updated_at = await _now(session)
        await session.flush()
        log.error(
            "deposit %s held for review: stripe checkout session %s reported %s %s paid,"
            " the deposit asked for %s %s; nothing credited",
            deposit.id,
            paid.id,
            paid.amount_total,
            paid.currency,
            deposit.amount,
            deposit.currency,
        )
        reported = (
            f"{paid.amount_total} {paid.currency}" if paid.amount_total is not None else "nothing"
        )
        await notification_service.notify(
            session,
            await user_repository.admin_ids(session),
            kind=NotificationKind.deposit_held,
            event_key=f"deposit.held:{deposit.id}",
            title=f"Deposit {deposit.id} held for review",
            body=f"Stripe reported {reported} paid for a deposit of"
            f" {amount_words(deposit.amount, deposit.currency)}: nothing was credited.",
            link="/api/v1/payments/deposits/held",
            data={
                "deposit_id": deposit.id,
                "user_id": deposit.user_id,
                "amount": deposit.amount,
                "currency": deposit.currency,
                "reported_amount": paid.amount_total,
                "reported_currency": paid.currency,
            },
        )

    async def held_deposits(self, session: AsyncSession) -> schemas.DepositReviewList:
        """Deposits waiting for an admin, oldest first."""
        held = await payment_repository.held_deposits(session)
        return schemas.DepositReviewList(deposits=[deposit_review_view(d) for d in held])

    async def credit_held_deposit(
        self, session: AsyncSession, admin_id: int, deposit_id: int, note: str
    ) -> schemas.DepositReview:
        """An admin checked the payment: credit the deposit's own amount, once. Refunds and
        disputes Stripe reported meanwhile are then taken back as for any deposit."""
        deposit = await self._held(session, admin_id, deposit_id, DepositStatus.succeeded, note)
        if deposit.status is DepositStatus.held:
            self._record_review(deposit, admin_id, await _now(session), note)
            deposit.paid = True
            await self._reconcile(session, deposit)
            log.warning(
                "held deposit %s credited by admin %s", deposit.id, admin_id, extra={"note": note}
            )
        return deposit_review_view(deposit)

    async def reject_held_deposit(
        self, session: AsyncSession, admin_id: int, deposit_id: int, reason: str
    ) -> schemas.DepositReview:
        """An admin refuses a held deposit: it is never credited (refund the payer in
        Stripe)."""
        deposit = await self._held(session, admin_id, deposit_id, DepositStatus.rejected, reason)
        if deposit.status is DepositStatus.held:
            now = await _now(session)
            self._record_review(deposit, admin_id, now, reason)
            deposit.status = DepositStatus.rejected
            deposit.updated_at = now
            await session.flush()
            log.warning(
                "held deposit %s rejected by admin %s", deposit.id, admin_id, extra={"note": reason}
            )
        return deposit_review_view(deposit)

    async def _held(
        self,
        session: AsyncSession,
        admin_id: int,
        deposit_id: int,
        decision: DepositStatus,
        note: str,
    ) -> Deposit:
        """The deposit, locked: still held, or already given this very decision (a retry,
        answered as the first time)."""
        deposit = await payment_repository.deposit_for_update(session, deposit_id=deposit_id)
        if deposit is None:
            raise DepositNotFound()
        if deposit.user_id == admin_id:
            raise Forbidden("An admin may not review their own deposit.")
        if deposit.status is DepositStatus.held:
            return deposit
        retried = (
            deposit.reviewed_by is not None
            and deposit.status is decision
            and deposit.review_note == note
        )
        if not retried:
            raise DepositNotHeld()
        return deposit

    def _record_review(self, deposit: Deposit, admin_id: int, now: datetime, note: str) -> None:
        deposit.reviewed_by, deposit.reviewed_at, deposit.review_note = admin_id, now, note

    async def _reconcile(self, session: AsyncSession, deposit: Deposit) -> None:
        """Bring the ledger in line with what Stripe has told us about the deposit."""
        deposit.updated_at = await _now(session)
        if not deposit.paid:
            return
        wallet = await ledger_service.wallet(session, deposit.user_id, deposit.currency)
        clearing = await ledger_service.system_account(
            session, AccountKind.stripe_clearing, deposit.currency
        )
        if deposit.status is not DepositStatus.succeeded:
            await ledger_service.transfer(
                session,
                clearing,
                wallet,
                deposit.amount,
                deposit.currency,
                key=f"deposit:{deposit.id}:credit",
                kind=TransactionKind.deposit,
                memo={"deposit_id": deposit.id},
            )
            deposit.status = DepositStatus.succeeded
            await notification_service.notify(
                session,
                [deposit.user_id],
                kind=NotificationKind.deposit_credited,
                event_key=f"deposit.credited:{deposit.id}",
                title="Deposit credited",
                body=f"{amount_words(deposit.amount, deposit.currency)} is in your wallet.",
                link="/api/v1/payments/deposits",
                data={
                    "deposit_id": deposit.id,
                    "amount": deposit.amount,
                    "currency": deposit.currency,
                },
            )
        # Stripe's amount_refunded is cumulative and a dispute covers what refunds left (or the
        # whole charge): together they never take back more than was paid.
        taken_back = min(deposit.amount, deposit.refunded_amount + deposit.disputed_amount)
        # What Stripe took back and we have not recovered yet: taken from the wallet as far as
        # its balance goes; the rest is owed and keeps the wallet frozen until it is recovered
        # (from money that comes back to the wallet, see collect_debts).
        outstanding = taken_back - deposit.reversed_amount
        if outstanding <= 0:
            return
        balance = await payment_repository.wallet_balance_for_update(session, wallet)
        take = min(outstanding, balance)
        if take > 0:
            await ledger_service.transfer(
                session,
                wallet,
                clearing,
                take,
                deposit.currency,
                key=f"deposit:{deposit.id}:reverse:{deposit.reversed_amount + take}",
                kind=TransactionKind.deposit_reversal,
                memo={"deposit_id": deposit.id},
                allow_frozen=True,
            )
            deposit.reversed_amount += take
        deposit.owed_amount = outstanding - take
        if deposit.owed_amount > 0:
            await ledger_repository.set_frozen(session, wallet, True)
            log.warning(
                "deposit reversed after it was spent; wallet frozen",
                extra={"deposit_id": deposit.id, "owed": deposit.owed_amount},
            )
        await session.flush()

    async def collect_debts(self, session: AsyncSession, user_id: int, currency: str) -> None:
        """Recover what reversed deposits still owe from the wallet's balance now; once nothing
        is owed, the wallet is unfrozen."""
        owing = await payment_repository.deposits_owing(session, user_id, currency)
        if not owing:
            return
        for deposit in owing:
            await self._reconcile(session, deposit)
        if all(deposit.owed_amount == 0 for deposit in owing):
            wallet = await ledger_service.wallet(session, user_id, currency)
            await ledger_repository.set_frozen(session, wallet, False)
            await session.flush()

    # -- withdrawals -------------------------------------------------------------------------

    async def request_withdrawal(
        self,
        session: AsyncSession,
        resources: Resources,
        user_id: int,
        data: schemas.WithdrawalCreate,
        idempotency_key: str,
    ) -> schemas.Withdrawal:
        """Hold the amount for review: wallet → pending withdrawals. Retrying with the same
        key returns the same withdrawal."""
        settings = resources.settings
        self._check_cash(settings, data.currency, data.amount, None, settings.withdrawal_min)
        await user_repository.lock(session, user_id)  # one request per key at a time
        existing = await payment_repository.withdrawal_by_key(session, user_id, idempotency_key)
        if existing is not None:
            if (existing.amount, existing.currency) != (data.amount, data.currency):
                raise IdempotencyKeyConflict()
            return withdrawal_view(existing)
        withdrawal = Withdrawal(
            user_id=user_id,
            currency=data.currency,
            amount=data.amount,
            idempotency_key=idempotency_key,
        )
        await payment_repository.add(session, withdrawal)
        wallet = await ledger_service.wallet(session, user_id, data.currency)
        held = await ledger_service.system_account(
            session, AccountKind.pending_withdrawals, data.currency
        )
        await ledger_service.transfer(
            session,
            wallet,
            held,
            data.amount,
            data.currency,
            key=f"withdrawal:{withdrawal.id}:hold",
            kind=TransactionKind.withdrawal,
            memo={"withdrawal_id": withdrawal.id},
        )
        return withdrawal_view(withdrawal)

    async def withdrawals(
        self, session: AsyncSession, *, user_id: int | None, status: WithdrawalStatus | None
    ) -> schemas.WithdrawalList:
        rows = await payment_repository.withdrawals(session, user_id=user_id, status=status)
        return schemas.WithdrawalList(withdrawals=[withdrawal_view(w) for w in rows])

    async def approve_withdrawal(
        self, session: AsyncSession, admin_id: int, withdrawal_id: int, payout_reference: str
    ) -> schemas.Withdrawal:
        """Record that the money was paid out (pending withdrawals → payouts), once. Never by
        the admin who asked for it (rejecting one's own only gives the money back, so it
        stays allowed); the database refuses it too (migration 0008)."""
        withdrawal = await payment_repository.withdrawal(session, withdrawal_id)
        # Whose withdrawal it is never changes, so reading it before the decision is safe.
        if withdrawal is not None and withdrawal.user_id == admin_id:
            raise SelfApproval()
        return await self._decide(
            session,
            admin_id,
            withdrawal_id,
            WithdrawalStatus.approved,
            payout_reference=payout_reference,
        )

    async def reject_withdrawal(
        self, session: AsyncSession, admin_id: int, withdrawal_id: int, reason: str
    ) -> schemas.Withdrawal:
        """Give the held amount back to the wallet, once."""
        return await self._decide(
            session, admin_id, withdrawal_id, WithdrawalStatus.rejected, reason=reason
        )

    async def _decide(
        self,
        session: AsyncSession,
        admin_id: int,
        withdrawal_id: int,
        status: WithdrawalStatus,
        *,
        payout_reference: str | None = None,
        reason: str | None = None,
    ) -> schemas.Withdrawal:
        decided = await payment_repository.decide_withdrawal(
            session,
            withdrawal_id,
            status=status,
            decided_by=admin_id,
            now=await _now(session),
            payout_reference=payout_reference,
            reason=reason,
        )
        if decided is None:
            existing = await payment_repository.withdrawal(session, withdrawal_id)
            if existing is None:
                raise WithdrawalNotFound()
            same = existing.status is status and (
                existing.payout_reference == payout_reference and existing.reason == reason
            )
            if same:  # a retried decision: answer as the first time
                return withdrawal_view(existing)
            raise WithdrawalAlreadyDecided()
        held = await ledger_service.system_account(
            session, AccountKind.pending_withdrawals, decided.currency
        )
        wallet = await ledger_service.wallet(session, decided.user_id, decided.currency)
        if status is WithdrawalStatus.approved:
            if await payment_repository.wallet_frozen_for_share(session, wallet):
                # A deposit was reversed after this money was spent: nothing leaves while a
                # debt is open. Rejecting the withdrawal returns the money, which pays the debt.
                raise WalletFrozen()
            target = await ledger_service.system_account(
                session, AccountKind.payouts, decided.currency
            )
            kind, step = TransactionKind.withdrawal_paid, "paid"
        else:
            target = wallet
            kind, step = TransactionKind.withdrawal_rejected, "rejected"
        memo: dict[str, Any] = {"withdrawal_id": decided.id}
        if payout_reference:
            memo["payout_reference"] = payout_reference
        await ledger_service.transfer(
            session,
            held,
            target,
            decided.amount,
            decided.currency,
            key=f"withdrawal:{decided.id}:{step}",
            kind=kind,
            memo=memo,
            allow_frozen=True,
        )
        if status is WithdrawalStatus.rejected:
            await self.collect_debts(session, decided.user_id, decided.currency)
        await self._tell_decision(session, decided)
        return withdrawal_view(decided)

    async def _tell_decision(self, session: AsyncSession, withdrawal: Withdrawal) -> None:
        amount = amount_words(withdrawal.amount, withdrawal.currency)
        approved = withdrawal.status is WithdrawalStatus.approved
        kind = (
            NotificationKind.withdrawal_approved
            if approved
            else NotificationKind.withdrawal_rejected
        )
        body = (
            f"{amount} is on its way to you."
            if approved
            else f"{amount} is back in your wallet: {withdrawal.reason}."
        )
        await notification_service.notify(
            session,
            [withdrawal.user_id],
            kind=kind,
            event_key=f"{kind.value}:{withdrawal.id}",
            title="Withdrawal approved" if approved else "Withdrawal rejected",
            body=body,
            link="/api/v1/payments/withdrawals",
            data={
                "withdrawal_id": withdrawal.id,
                "amount": withdrawal.amount,
                "currency": withdrawal.currency,
            },
        )

    # -- shared ------------------------------------------------------------------------------

    def _stripe(self, resources: Resources) -> StripeClient:
        if resources.stripe is None:
            raise PaymentsNotConfigured()
        return resources.stripe

    def _check_cash(
        self,
        settings: Settings,
        currency: str,
        amount: int,
        maximum: int | None,
        minimum: int | None = None,
    ) -> None:
        supported = cash(settings.cash_currency)
        if currency != supported:
            raise UnsupportedCurrency(currency, supported)
        low = settings.deposit_min if minimum is None else minimum
        if amount < low or (maximum is not None and amount > maximum):
            raise AmountOutOfRange(low, maximum)


payment_service = PaymentService()
