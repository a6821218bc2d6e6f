"""Chat commands as the parser reads them, and the reply lines the bot writes back."""

from typing import Literal

import msgspec


class Amount(msgspec.Struct, frozen=True, kw_only=True):
    """A stake as typed: whole units, everything (``all``), or a percentage of the balance."""

    kind: Literal["units", "all", "percent"]
    #: Units for ``units``, 1 to 100 for ``percent``, 0 for ``all``.
    value: int = 0


class Bet(msgspec.Struct, frozen=True, kw_only=True):
    """``!bet [#pool] <outcome> <amount>``: the outcome as typed (a 1-based number or a label)."""

    outcome: str
    amount: Amount
    pool_id: int | None = None


class Balance(msgspec.Struct, frozen=True, kw_only=True):
    """``!balance``: the chatter's points in this channel."""


class ShowPool(msgspec.Struct, frozen=True, kw_only=True):
    """``!pool [#pool]``: the pool's question, numbered outcomes, totals and multipliers."""

    pool_id: int | None = None


class OpenPool(msgspec.Struct, frozen=True, kw_only=True):
    """``!open <template name>`` (staff)."""

    template: str


class LockPool(msgspec.Struct, frozen=True, kw_only=True):
    """``!lock [#pool]`` (staff)."""

    pool_id: int | None = None


class ResolvePool(msgspec.Struct, frozen=True, kw_only=True):
    """``!resolve [#pool] <outcome>`` (staff)."""

    outcome: str
    pool_id: int | None = None


class CancelPool(msgspec.Struct, frozen=True, kw_only=True):
    """``!cancel [#pool]`` (staff)."""

    pool_id: int | None = None


class Usage(msgspec.Struct, frozen=True, kw_only=True):
    """A command of ours mistyped (``!bett``) or given the wrong arguments: the chatter gets
    the usage of ``command`` (rate-limited)."""

    command: str


Command = Bet | Balance | ShowPool | OpenPool | LockPool | ResolvePool | CancelPool
StaffCommand = OpenPool | LockPool | ResolvePool | CancelPool


class ReplyLine(msgspec.Struct, frozen=True, kw_only=True):
    """One line waiting in a platform chat's reply outbox. Bet confirmations (``bet``) are
    joined into one message; other lines stand alone beside them."""

    kind: Literal["bet", "text"]
    text: str
    #: When it was queued (Unix time): lines too old by the time they could go are dropped.
    at: float
