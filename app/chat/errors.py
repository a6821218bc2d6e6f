"""Why a chat action was refused."""

from datetime import datetime

from app.kit.errors import AppError, Forbidden, NotFound


class ChatTimedOut(AppError):
    code = "chat_timed_out"
    status = 403
    message = "A moderator timed you out of this chat."

    def __init__(self, until: datetime) -> None:
        super().__init__(
            f"A moderator timed you out of this chat until {until.isoformat()}.",
            until=until.isoformat(),
        )


class ChatMessageNotFound(NotFound):
    code = "message_not_found"
    message = "No such chat message (it may be too old to moderate)."


class CannotTimeOutStaff(Forbidden):
    code = "forbidden"
    message = "The channel's owner and moderators cannot be timed out."
