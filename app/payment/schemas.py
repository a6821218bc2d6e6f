"""Deposits and withdrawals as the API shows them."""

from datetime import datetime
from typing import Annotated

import msgspec

from app.kit.schema import Input, Output
from app.models.payment import DepositStatus, WithdrawalStatus

Amount = Annotated[int, msgspec.Meta(gt=0, le=10**12, description="Minor units (cents).")]
Currency = Annotated[str, msgspec.Meta(pattern=r"^cash:[A-Z]{3}$", examples=["cash:USD"])]


class DepositCreate(Input):
    amount: Amount
    currency: Currency = "cash:USD"


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


class WithdrawalCreate(Input):
    amount: Amount
    currency: Currency = "cash:USD"


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
