"""Player-protection settings as the user sees and changes them."""

from datetime import date, datetime
from typing import Annotated

import msgspec

from app.kit.schema import Input, Output
from app.models.protection import LimitPeriod

Amount = Annotated[int, msgspec.Meta(gt=0, le=10**12)]


class AgeConfirmation(Input):
    birth_date: date


class DepositLimitChange(Input):
    period: LimitPeriod
    #: The new cap in minor units; null removes the limit (after the cooling-off).
    amount: Amount | None


class SelfExclusionRequest(Input):
    #: How long, in days; omit (or null) with ``permanent: true`` for good.
    days: Annotated[int, msgspec.Meta(ge=1, le=3650)] | None = None
    permanent: bool = False


class DepositLimitView(Output):
    period: LimitPeriod
    amount: int | None
    used: int
    pending_amount: int | None = None
    pending_removal: bool = False
    pending_effective_at: datetime | None = None


class SelfExclusionView(Output):
    starts_at: datetime
    ends_at: datetime | None


class Limits(Output):
    age_confirmed: bool
    birth_date: date | None
    deposit_limits: list[DepositLimitView]
    self_exclusion: SelfExclusionView | None
