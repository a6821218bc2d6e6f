"""Why a payment could not be made."""

from app.kit.errors import AppError


class PaymentError(AppError):
    status = 409


class PaymentsNotConfigured(PaymentError):
    code = "payments_not_configured"
    status = 503
    message = "Cash payments are not configured on this server; points pools need none."


class PaymentProviderUnavailable(PaymentError):
    code = "payment_provider_unavailable"
    status = 502
    message = "The payment provider did not answer; nothing was charged. Try again shortly."


class UnsupportedCurrency(PaymentError):
    code = "unsupported_currency"
    status = 422

    def __init__(self, currency: str, supported: str) -> None:
        super().__init__(
            f"currency: {currency} is not accepted; use {supported}.", field="currency"
        )


class AmountOutOfRange(PaymentError):
    code = "amount_out_of_range"
    status = 422

    def __init__(self, minimum: int, maximum: int | None) -> None:
        bound = f"between {minimum} and {maximum}" if maximum else f"at least {minimum}"
        super().__init__(f"amount: must be {bound} (minor units).", field="amount")


class DepositNotFound(PaymentError):
    code = "deposit_not_found"
    status = 404
    message = "No such deposit."


class DepositNotHeld(PaymentError):
    code = "deposit_not_held"
    message = "This deposit is not held for review (it was already decided, or never held)."


class WithdrawalNotFound(PaymentError):
    code = "withdrawal_not_found"
    status = 404
    message = "No such withdrawal."


class WithdrawalAlreadyDecided(PaymentError):
    code = "withdrawal_already_decided"
    message = "This withdrawal was already approved or rejected."


class SelfApproval(PaymentError):
    code = "self_approval"
    status = 403
    message = "You may not approve your own withdrawal; another admin must review it."


class IdempotencyKeyConflict(PaymentError):
    code = "idempotency_key_reused"
    message = "This idempotency key was already used for a different request."


class StripeEventNotReady(PaymentError):
    """The event refers to a payment we cannot place yet (its checkout event is still on the
    way); the inbox retries it later."""

    code = "event_not_ready"
