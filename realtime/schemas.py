"""Payloads of the client events that only Socket.IO has (the rest reuse the app's schemas)."""

from typing import Annotated

import msgspec

from app.kit.schema import Input
from app.pool.schemas import Stake

Id = Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1)]


class ChannelRef(Input):
    channel: Id


class BetPlace(Input):
    pool_id: Id
    outcome_id: Id
    amount: Stake
    idempotency_key: Annotated[str, msgspec.Meta(min_length=1, max_length=255)]


class TokenRefresh(Input):
    token: Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]
