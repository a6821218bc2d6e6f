"""Why a channel action was refused."""

from app.kit.errors import AppError, Forbidden, NotFound


class ChannelError(AppError):
    status = 409


class ChannelNotFound(NotFound):
    code = "channel_not_found"
    message = "No such channel."


class NotChannelStaff(Forbidden):
    code = "forbidden"
    message = "Only the channel's owner or its moderators may do this."


class NotChannelOwner(Forbidden):
    code = "forbidden"
    message = "Only the channel's owner may do this."
