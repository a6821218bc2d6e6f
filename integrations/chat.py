"""What sending a chat message means on every platform: the bot's message, its bounds, and what
the platform made of it."""

from collections.abc import Awaitable, Callable
from typing import Final, Protocol, runtime_checkable

import msgspec

#: Twitch's and Kick's longest chat message.
MAX_CHAT_MESSAGE_LENGTH: Final = 500

#: Called once when a user token is refused: refresh it (and store the new tokens), return the
#: new access token, or raise ``TokenRevoked`` when the refresh token is refused too.
RefreshToken = Callable[[], Awaitable[str]]


class InvalidChatMessage(ValueError):
    """An empty chat message or one over 500 characters."""


class ChatMessageSent(msgspec.Struct, frozen=True, kw_only=True):
    message_id: str
    is_sent: bool
    #: Why the platform dropped the message (AutoMod, slow mode, a ban...) when not sent.
    drop_reason_code: str | None = None
    drop_reason_message: str | None = None


@runtime_checkable
class ChatSender(Protocol):
    """A platform's chat, as the bot writes to it (``HelixClient``, ``KickApi``)."""

    async def send_chat_message(
        self,
        token: str,
        *,
        broadcaster_id: str,
        sender_id: str,
        message: str,
        reply_parent_message_id: str | None = None,
        refresh: RefreshToken | None = None,
    ) -> ChatMessageSent: ...


def check_chat_message(message: str) -> None:
    if not message.strip() or len(message) > MAX_CHAT_MESSAGE_LENGTH:
        raise InvalidChatMessage(f"a chat message has 1 to {MAX_CHAT_MESSAGE_LENGTH} characters")
