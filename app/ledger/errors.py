"""Why money could not move."""

from app.kit.errors import AppError


class LedgerError(AppError):
    status = 409


class InsufficientFunds(LedgerError):
    code = "insufficient_funds"
    message = "Your balance is too low for this."


class WalletFrozen(LedgerError):
    code = "wallet_frozen"
    status = 403
    message = (
        "This wallet is frozen because a payment was reversed after it had been spent; "
        "contact support."
    )


class IdempotencyKeyReused(LedgerError):
    code = "idempotency_key_reused"
    message = "This idempotency key was already used for a different request."


class UnbalancedTransaction(LedgerError):
    """A programming error: the postings do not sum to zero per currency."""

    code = "unbalanced_transaction"
    status = 500
    message = "The ledger transaction does not balance."
