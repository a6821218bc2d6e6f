"""The currency format, in one place: ``cash:<ISO 4217 code>`` or ``points:<channel id>``.

SQL that needs to tell cash from points calls ``currency_is_cash()``
(``app/ledger/sql/currency_is_cash.sql``), the same rule as ``is_cash`` here."""

from dataclasses import dataclass
from typing import Literal

CASH_PREFIX = "cash:"
POINTS_PREFIX = "points:"
#: Any currency (the accounts table's CHECK and the API's validation use the same pattern).
PATTERN = r"^(cash:[A-Z]{3}|points:[0-9]+)$"
#: A cash currency only.
CASH_PATTERN = r"^cash:[A-Z]{3}$"


@dataclass(frozen=True, slots=True)
class Currency:
    kind: Literal["cash", "points"]
    #: The ISO code for cash (``USD``), the channel id as text for points (``42``).
    code: str


def cash(currency_code: str) -> str:
    """``cash:USD`` from ``usd`` or ``USD``."""
    return f"{CASH_PREFIX}{currency_code.upper()}"


def points(channel_id: int) -> str:
    """A channel's points: ``points:42``."""
    return f"{POINTS_PREFIX}{channel_id}"


def parse(currency: str) -> Currency:
    """The kind and code of a currency string; ValueError if it is not one."""
    if currency.startswith(CASH_PREFIX):
        return Currency("cash", currency.removeprefix(CASH_PREFIX))
    if currency.startswith(POINTS_PREFIX):
        return Currency("points", currency.removeprefix(POINTS_PREFIX))
    raise ValueError(f"not a currency: {currency!r}")


def is_cash(currency: str) -> bool:
    return currency.startswith(CASH_PREFIX)


def cash_code(currency: str) -> str:
    """The ISO code of a cash currency (``USD`` for ``cash:USD``)."""
    parsed = parse(currency)
    if parsed.kind != "cash":
        raise ValueError(f"not a cash currency: {currency!r}")
    return parsed.code
