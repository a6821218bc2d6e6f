"""Chat messages and the moderation commands of a channel's chat."""

from datetime import datetime
from typing import Annotated

import msgspec

from app.kit.schema import Input, Output

ChannelId = Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1)]


class ChatSend(Input):
    channel: ChannelId
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


class ChatDelete(Input):
    message_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class ChatTimeout(Input):
    channel: ChannelId
    user_id: Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1)]
    #: 0 lifts a timeout early.
    seconds: Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)]


class ChatMessage(Output):
    id: str
    channel_id: int
    #: The author's account; None for a platform chatter who has none here.
    user_id: int | None
    display_name: str
    #: Where the message was written: ``streampools`` here, or a linked platform's chat.
    platform: str
    text: str
    sent_at: datetime
    #: The author's badges on that platform ("moderator/1", "subscriber/12").
    badges: list[str] = msgspec.field(default_factory=list)


class ChatDeleted(Output):
    id: str
    channel_id: int


class ChatTimedOutUser(Output):
    channel_id: int
    user_id: int
    until: datetime
