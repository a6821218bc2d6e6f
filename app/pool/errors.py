"""Why a pool action or a bet was refused."""

from app.kit.errors import AppError, Forbidden, NotFound


class PoolError(AppError):
    status = 409


class PoolNotFound(NotFound):
    code = "pool_not_found"
    message = "No such pool."


class PoolNotOpen(PoolError):
    code = "pool_not_open"

    def __init__(self, status: str, closed_by_time: bool = False) -> None:
        reason = "its betting window has closed" if closed_by_time else f"it is {status}"
        super().__init__(f"Bets are not accepted: {reason}.", status=status)


class InvalidTransition(PoolError):
    code = "invalid_pool_transition"

    def __init__(self, action: str, status: str) -> None:
        super().__init__(f"Cannot {action} a pool that is {status}.", action=action, status=status)


class ConflictOfInterest(Forbidden):
    """The actor holds a position in the pool, so may not decide where its money goes."""

    code = "conflict_of_interest"

    def __init__(self, action: str) -> None:
        what = "resolve it" if action == "resolve" else f"{action} it once it is locked"
        super().__init__(
            f"You hold a position in this pool, so you may not {what}; another member of the"
            " channel's staff must.",
            action=action,
        )


class UnknownOutcome(PoolError):
    code = "unknown_outcome"
    status = 422

    def __init__(self) -> None:
        super().__init__("outcome_id: not an outcome of this pool.", field="outcome_id")


class OutcomeAlreadyChosen(PoolError):
    code = "outcome_already_chosen"
    message = "You already bet on another outcome of this pool; add stake to that one."


class StakeOutOfRange(PoolError):
    code = "stake_out_of_range"
    status = 422

    def __init__(self, minimum: int, maximum: int, position: int) -> None:
        super().__init__(
            f"amount: your stake in this pool must stay between {minimum} and {maximum} "
            f"(you have {position}).",
            field="amount",
            min_stake=minimum,
            max_stake=maximum,
            position=position,
        )


class CashNotEnabled(PoolError):
    code = "cash_not_enabled"
    message = "This channel does not run cash pools."


class RakeTooHigh(PoolError):
    code = "validation_error"
    status = 422

    def __init__(self, cap: int) -> None:
        super().__init__(f"rake_bps: at most {cap} for this currency.", field="rake_bps")
