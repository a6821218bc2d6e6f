"""Deposits and withdrawals as the API shows them."""

from datetime import datetime
from typing import Annotated

import msgspec

from app.kit.currency import CASH_PATTERN, cash
from app.kit.schema import Input, Output
from app.models.payment import DepositStatus, WithdrawalStatus

Amount = Annotated[int, msgspec.Meta(gt=0, le=10**12, description="Minor units (cents).")]
Currency = Annotated[str, msgspec.Meta(pattern=CASH_PATTERN, examples=[cash("USD")])]

DEFAULT_CURRENCY = cash("USD")


class DepositCreate(Input):
    amount: Amount
    currency: Currency = DEFAULT_CURRENCY


class Deposit(Output):
    id: int
    amount: int
    currency: str
    status: DepositStatus
    checkout_url: str | None
    refunded_amount: int
    owed_amount: int
    created_at: datetime


class DepositList(Output):
    deposits: list[Deposit]


class DepositReview(Output):
    """A deposit as an admin reviews it: what was asked, and what Stripe reported paid."""

    id: int
    user_id: int
    amount: int
    currency: str
    status: DepositStatus
    reported_amount: int | None
    reported_currency: str | None
    checkout_session_id: str | None
    payment_intent_id: str | None
    created_at: datetime
    reviewed_at: datetime | None
    review_note: str | None


class DepositReviewList(Output):
    deposits: list[DepositReview]


class DepositCredit(Input):
    #: What the admin checked (e.g. the payment in Stripe's dashboard) before crediting.
    note: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


class DepositReject(Input):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


class WithdrawalCreate(Input):
    amount: Amount
    currency: Currency = DEFAULT_CURRENCY


class WithdrawalApprove(Input):
    payout_reference: Annotated[str, msgspec.Meta(min_length=1, max_length=255)]


class WithdrawalReject(Input):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


class Withdrawal(Output):
    id: int
    user_id: int
    amount: int
    currency: str
    status: WithdrawalStatus
    payout_reference: str | None
    reason: str | None
    created_at: datetime
    decided_at: datetime | None


class WithdrawalList(Output):
    withdrawals: list[Withdrawal]
