"""Why a chat command was refused (beyond the pool's and the channel's own refusals)."""

from app.kit.errors import AppError, Forbidden, NotFound


class CommandError(AppError):
    status = 409


class NoPool(CommandError):
    code = "no_pool"

    def __init__(self, what: str) -> None:
        super().__init__(f"No {what} pool right now.", what=what)


class NoSuchTemplate(NotFound):
    code = "template_not_found"
    message = "No template of this channel has that name."


class CashNotInChat(Forbidden):
    """Cash moves only where the player signed in and confirmed their age: the website."""

    code = "cash_not_in_chat"
    message = "Cash pools take bets on the website only."
