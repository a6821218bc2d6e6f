"""Why cash play is refused."""

from app.kit.errors import AppError


class ProtectionError(AppError):
    status = 403


class AgeNotConfirmed(ProtectionError):
    code = "age_not_confirmed"
    message = "Confirm your date of birth before depositing or betting cash."


class Underage(ProtectionError):
    code = "underage"
    message = "Cash play is only for adults."


class UnderageRefused(Underage):
    """An under-age date of birth was stated. Nothing confirming age is stored, so a mistyped
    date can be corrected; the refusal's audit row is kept (the only change made before it is
    raised)."""

    keeps_changes = True


class BirthDateAlreadyConfirmed(ProtectionError):
    code = "birth_date_already_confirmed"
    status = 409
    message = "Your date of birth is already confirmed; contact support to correct it."


class SelfExcluded(ProtectionError):
    code = "self_excluded"
    message = "You have excluded yourself from cash play for now."


#: How a limit's period reads in a sentence ("your daily deposit limit").
PERIOD_ADJECTIVES = {"day": "daily", "week": "weekly", "month": "monthly"}


class DepositLimitExceeded(ProtectionError):
    code = "deposit_limit_exceeded"
    status = 409

    def __init__(self, period: str, limit: int, used: int) -> None:
        super().__init__(
            f"This deposit would pass your {PERIOD_ADJECTIVES.get(period, period)} deposit"
            f" limit of {limit} "
            f"({used} already deposited in the last {period}).",
            period=period,
            limit=limit,
            used=used,
            remaining=max(limit - used, 0),
        )


class ExclusionCannotBeShortened(ProtectionError):
    code = "self_exclusion_active"
    status = 409
    message = "A self-exclusion cannot be shortened or lifted before it ends."
