"""/api/v1/payments (deposits, withdrawals) and /webhooks/stripe."""

from collections.abc import Mapping
from typing import Any

from litestar import Controller, MediaType, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.tokens import Principal
from app.inbox.endpoints import receive_webhook
from app.inbox.errors import InvalidWebhookSignature
from app.inbox.schemas import VerifiedEvent, WebhookReceived
from app.kit.errors import Forbidden
from app.kit.http import Id, IdempotencyKey, require_key
from app.kit.openapi import error_responses
from app.kit.resources import Resources
from app.models.payment import WithdrawalStatus
from app.payment import schemas
from app.payment.errors import PaymentsNotConfigured
from app.payment.service import payment_service
from integrations.stripe.webhooks import InvalidSignature, verify_and_parse


def require_admin(principal: Principal, reviewed: str) -> None:
    if not principal.is_admin:
        raise Forbidden(f"Only an admin may review {reviewed}.")


class PaymentController(Controller):
    path = "/api/v1/payments"
    tags = ["payments"]

    @post("/deposits", status_code=HTTP_201_CREATED, responses=error_responses(502))
    async def create_deposit(
        self,
        data: JSONBody[schemas.DepositCreate],
        session: NamedDependency[AsyncSession],
        resources: NamedDependency[Resources],
        principal: NamedDependency[Principal],
    ) -> schemas.Deposit:
        """Start a cash deposit: returns the Stripe Checkout URL to pay at. The wallet is
        credited once Stripe confirms the payment."""
        return await payment_service.create_deposit(session, resources, principal.user_id, data)

    @get("/deposits")
    async def list_deposits(
        self, session: NamedDependency[AsyncSession], principal: NamedDependency[Principal]
    ) -> schemas.DepositList:
        """The caller's deposits, newest first."""
        return await payment_service.deposits(session, principal.user_id)

    @get("/deposits/held")
    async def list_held_deposits(
        self, session: NamedDependency[AsyncSession], principal: NamedDependency[Principal]
    ) -> schemas.DepositReviewList:
        """Admin: deposits Stripe reported paid with another amount or currency than asked,
        held uncredited for review, oldest first."""
        require_admin(principal, "held deposits")
        return await payment_service.held_deposits(session)

    @post("/deposits/{deposit_id:int}/credit", status_code=HTTP_200_OK)
    async def credit_held_deposit(
        self,
        deposit_id: Id,
        data: JSONBody[schemas.DepositCredit],
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> schemas.DepositReview:
        """Admin: the payment checked out; credit the deposit's own amount."""
        require_admin(principal, "held deposits")
        return await payment_service.credit_held_deposit(
            session, principal.user_id, deposit_id, data.note
        )

    @post("/deposits/{deposit_id:int}/reject", status_code=HTTP_200_OK)
    async def reject_held_deposit(
        self,
        deposit_id: Id,
        data: JSONBody[schemas.DepositReject],
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> schemas.DepositReview:
        """Admin: refuse a held deposit; it is never credited (refund the payer in Stripe)."""
        require_admin(principal, "held deposits")
        return await payment_service.reject_held_deposit(
            session, principal.user_id, deposit_id, data.reason
        )

    @post("/withdrawals", status_code=HTTP_201_CREATED)
    async def request_withdrawal(
        self,
        data: JSONBody[schemas.WithdrawalCreate],
        session: NamedDependency[AsyncSession],
        resources: NamedDependency[Resources],
        principal: NamedDependency[Principal],
        idempotency_key: IdempotencyKey,
    ) -> schemas.Withdrawal:
        """Ask for a cash-out (``Idempotency-Key`` header required): the amount leaves the
        wallet at once and waits for an admin's review."""
        return await payment_service.request_withdrawal(
            session, resources, principal.user_id, data, require_key(idempotency_key)
        )

    @get("/withdrawals")
    async def list_withdrawals(
        self,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        status: FromQuery[WithdrawalStatus | None] = None,
    ) -> schemas.WithdrawalList:
        """The caller's withdrawals; an admin sees everyone's (filter with ``status``)."""
        user_id = None if principal.is_admin else principal.user_id
        return await payment_service.withdrawals(session, user_id=user_id, status=status)

    @post("/withdrawals/{withdrawal_id:int}/approve", status_code=HTTP_200_OK)
    async def approve_withdrawal(
        self,
        withdrawal_id: Id,
        data: JSONBody[schemas.WithdrawalApprove],
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> schemas.Withdrawal:
        """Admin: the money was paid out; record the payout reference."""
        require_admin(principal, "withdrawals")
        return await payment_service.approve_withdrawal(
            session, principal.user_id, withdrawal_id, data.payout_reference
        )

    @post("/withdrawals/{withdrawal_id:int}/reject", status_code=HTTP_200_OK)
    async def reject_withdrawal(
        self,
        withdrawal_id: Id,
        data: JSONBody[schemas.WithdrawalReject],
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> schemas.Withdrawal:
        """Admin: refuse the withdrawal; the amount goes back to the wallet."""
        require_admin(principal, "withdrawals")
        return await payment_service.reject_withdrawal(
            session, principal.user_id, withdrawal_id, data.reason
        )


def verify_stripe(body: bytes, headers: Mapping[str, str], secret: str) -> VerifiedEvent:
    """Stripe's check of ``Stripe-Signature`` over the raw body (and its age)."""
    try:
        event = verify_and_parse(body, headers.get("stripe-signature"), secret)
    except InvalidSignature as error:
        raise InvalidWebhookSignature(error.reason) from error
    return VerifiedEvent(external_id=event.id, event_type=event.type)


class StripeWebhookController(Controller):
    path = "/webhooks"
    tags = ["webhooks"]

    @post("/stripe", status_code=HTTP_200_OK, responses=error_responses(400))
    async def stripe_webhook(
        self,
        request: Request[Any, Any, Any],
        session: NamedDependency[AsyncSession],
        resources: NamedDependency[Resources],
    ) -> WebhookReceived:
        """Verify Stripe's signature over the raw body, store the event once, answer 2xx at
        once; a job applies it."""
        received = await receive_webhook(
            request,
            session,
            source="stripe",
            secret=resources.settings.stripe_webhook_secret.get_secret_value(),
            verify=verify_stripe,
            not_configured=PaymentsNotConfigured,
        )
        assert isinstance(received, WebhookReceived), "Stripe sends no challenge"
        return received


class CheckoutReturnController(Controller):
    """Where Stripe Checkout sends the payer back (the default return URLs)."""

    include_in_schema = False

    @get("/deposit/success", media_type=MediaType.HTML)
    async def succeeded(self) -> str:
        return _page(
            "Payment received",
            "Thank you. Your wallet is credited as soon as Stripe confirms the payment,"
            " usually within seconds.",
        )

    @get("/deposit/cancel", media_type=MediaType.HTML)
    async def cancelled(self) -> str:
        return _page("Payment cancelled", "Nothing was charged. You can start a new deposit.")


def _page(title: str, text: str) -> str:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head>"
        f"<body><h1>{title}</h1><p>{text}</p></body></html>"
    )
