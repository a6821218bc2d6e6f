"""Wallet balances and their history."""

from datetime import datetime
from typing import Any

from app.kit.schema import Output


class Wallet(Output):
    currency: str
    balance: int
    frozen: bool


class WalletList(Output):
    wallets: list[Wallet]


class WalletEntry(Output):
    id: int
    transaction_id: int
    amount: int
    balance_after: int
    reason: str
    memo: dict[str, Any]
    created_at: datetime


class WalletEntryPage(Output):
    currency: str
    entries: list[WalletEntry]
    next_cursor: str | None
