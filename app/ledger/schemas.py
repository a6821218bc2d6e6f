"""What the ledger tells the outside: a wallet's new balance."""

from app.kit.schema import Output


class WalletUpdated(Output):
    """Pushed to a user's own room (``wallet:updated``) whenever a wallet of theirs changes."""

    currency: str
    balance: int
