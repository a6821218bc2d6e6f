"""Socket.IO room names, shared by whoever publishes into them and the server that joins them."""


def channel_room(channel_id: int) -> str:
    return f"channel:{channel_id}"


def user_room(user_id: int) -> str:
    return f"user:{user_id}"
