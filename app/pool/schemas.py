"""Pools, outcomes, positions and bets as the API shows them."""

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from app.kit.schema import Input, Output
from app.models.pool import PoolStatus

Title = Annotated[str, msgspec.Meta(min_length=1, max_length=120, pattern=r"\S")]
Label = Annotated[str, msgspec.Meta(min_length=1, max_length=50, pattern=r"\S")]
Stake = Annotated[int, msgspec.Meta(ge=1, le=10**12)]
Window = Annotated[int, msgspec.Meta(ge=10, le=86_400, description="Seconds (10 s to 24 h).")]


class PoolCreate(Input):
    channel_id: int
    title: Title
    outcomes: Annotated[list[Label], msgspec.Meta(min_length=2, max_length=10)]
    currency: Literal["points", "cash"] = "points"
    min_stake: Stake = 1
    max_stake: Stake = 1_000_000
    #: Cash only (points pools take none); defaults to the platform's rake.
    rake_bps: Annotated[int, msgspec.Meta(ge=0, le=10_000)] | None = None
    #: Either a betting window (starts when the pool opens) or a close time.
    window_seconds: Window | None = None
    closes_at: datetime | None = None
    #: Open at once (default) or keep as a draft.
    open: bool = True


class Resolve(Input):
    outcome_id: int


class BetCreate(Input):
    outcome_id: int
    amount: Stake


class Outcome(Output):
    id: int
    position: int
    label: str
    total: int
    bettors: int
    #: What one unit staked now would return if this outcome won, in basis points
    #: (15000 = 1.5x); null while nobody has bet on it.
    multiplier_bps: int | None


class Position(Output):
    outcome_id: int
    amount: int
    payout: int | None


class Pool(Output):
    id: int
    channel_id: int
    title: str
    currency: str
    status: PoolStatus
    min_stake: int
    max_stake: int
    rake_bps: int
    window_seconds: int | None
    closes_at: datetime | None
    opened_at: datetime | None
    locked_at: datetime | None
    resolved_at: datetime | None
    winning_outcome_id: int | None
    settled_at: datetime | None
    cancelled_at: datetime | None
    outcomes: list[Outcome]
    total: int
    bettors: int
    my_position: Position | None = None


class OutcomeTotals(Output):
    id: int
    total: int
    bettors: int
    multiplier_bps: int | None


class PoolTotals(Output):
    """The live part of a pool, pushed as ``pool:updated`` (coalesced, a few per second)."""

    id: int
    channel_id: int
    status: PoolStatus
    total: int
    bettors: int
    outcomes: list[OutcomeTotals]


class PoolList(Output):
    pools: list[Pool]


class Winner(Output):
    display_name: str
    outcome_id: int
    stake: int
    payout: int


class Winners(Output):
    """A paid pool's biggest payouts (what an overlay shows after the result): empty until the
    pool is settled, and for a refunded pool."""

    pool_id: int
    status: PoolStatus
    currency: str
    winners: list[Winner]


class PoolBet(Output):
    """One bettor's position in a pool, as the channel's staff see it."""

    id: int
    user_id: int
    display_name: str
    outcome_id: int
    #: Everything they staked on the outcome, in minor units of the pool's currency.
    amount: int
    #: What it got back once the pool was paid (0 for a losing position); null until then.
    payout: int | None
    #: Their first stake, and the last one they added.
    placed_at: datetime
    updated_at: datetime


class PoolBetPage(Output):
    pool_id: int
    currency: str
    #: Newest bettor first.
    bets: list[PoolBet]
    #: Pass back as ``cursor`` for the next (older) page; null on the last one.
    next_cursor: str | None


class BetPlaced(Output):
    pool_id: int
    bet_id: int
    outcome_id: int
    placed: int
    position: int
    currency: str
    balance: int


class TemplateCreate(Input):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=80, pattern=r"\S")]
    title: Title
    outcomes: Annotated[list[Label], msgspec.Meta(min_length=2, max_length=10)]
    currency: Literal["points", "cash"] = "points"
    window_seconds: Window = 300
    min_stake: Stake = 1
    max_stake: Stake = 1_000_000
    rake_bps: Annotated[int, msgspec.Meta(ge=0, le=10_000)] | None = None


class Template(Output):
    id: int
    channel_id: int
    name: str
    title: str
    outcomes: list[str]
    currency: str
    window_seconds: int
    min_stake: int
    max_stake: int
    rake_bps: int | None


class TemplateList(Output):
    templates: list[Template]
