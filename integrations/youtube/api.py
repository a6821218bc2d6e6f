"""The calls the platform makes to the YouTube Data API v3 (plain httpx: Google's Python client is
synchronous): the signed-in user's channel, active broadcasts, and live chat (read by polling,
written by insert). Every call costs quota units of the Cloud project (``COSTS``); the caller
reserves them first (the quota planner)."""

from datetime import datetime
from typing import Any, Final, Generic, TypeVar

import msgspec

from integrations.api import ApiClient, Params
from integrations.chat import RefreshToken, check_chat_message
from integrations.errors import ApiError, RequestFailed

DEFAULT_API_BASE_URL: Final = "https://www.googleapis.com/youtube/v3"

#: Quota units per call (YouTube Data API v3).
LIST_COST: Final = 5
INSERT_COST: Final = 20
CHANNELS_COST: Final = 1
#: YouTube's longest chat message.
MAX_YOUTUBE_CHAT_LENGTH: Final = 200


class QuotaExceeded(RequestFailed):
    """403 ``quotaExceeded``: the Cloud project's daily quota is spent until Google's reset
    (midnight Pacific time)."""


class ChatEnded(RequestFailed):
    """The live chat ended or is gone (``liveChatEnded``, ``liveChatNotFound``,
    ``liveChatDisabled``)."""


_CHAT_GONE: Final = frozenset({"liveChatEnded", "liveChatNotFound", "liveChatDisabled"})


class YouTubeChannel(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    title: str
    custom_url: str | None = None


class Broadcast(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    title: str
    #: created, ready, testing, live, complete, revoked, ...
    life_cycle_status: str
    live_chat_id: str | None
    actual_start_time: datetime | None = None


class ChatAuthor(msgspec.Struct, frozen=True, kw_only=True):
    channel_id: str
    display_name: str
    is_owner: bool = False
    is_moderator: bool = False
    is_sponsor: bool = False


class ChatMessage(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    type: str
    text: str
    published_at: datetime
    author: ChatAuthor


class ChatPage(msgspec.Struct, frozen=True, kw_only=True):
    messages: tuple[ChatMessage, ...]
    next_page_token: str | None
    polling_interval_millis: int
    #: When the broadcast ended (then no more messages come).
    offline_at: datetime | None = None


class YouTubeApi(ApiClient):
    """The one way the platform calls the YouTube Data API. Methods take the user token to act
    with and the ``refresh`` to call once if it is refused."""

    api_name = "YouTube"

    async def request_checked(
        self,
        method: str,
        path: str,
        token: str,
        *,
        refresh: RefreshToken | None,
        params: Params = None,
        json: Any = None,
    ) -> bytes:
        """A call whose Google errors are named: ``QuotaExceeded``, ``ChatEnded``."""
        try:
            response = await self.request(
                method, path, token, refresh=refresh, params=params, json=json
            )
        except RequestFailed as exc:
            if exc.error in ("quotaExceeded", "dailyLimitExceeded"):
                raise QuotaExceeded(exc.message, status=exc.status, error=exc.error) from exc
            if exc.error in _CHAT_GONE:
                raise ChatEnded(exc.message, status=exc.status, error=exc.error) from exc
            raise
        return response.content

    async def my_channel(
        self, token: str, *, refresh: RefreshToken | None = None
    ) -> YouTubeChannel | None:
        """The token owner's YouTube channel (``channels.list?mine=true``, 1 unit): who owns the
        channel is who signed in. None for a Google account without a channel."""
        body = await self.request_checked(
            "GET",
            "channels",
            token,
            refresh=refresh,
            params={"part": "id,snippet", "mine": "true"},
        )
        items = _decode(body, _List[_Channel]).items
        if not items:
            return None
        item = items[0]
        return YouTubeChannel(
            id=item.id, title=item.snippet.title, custom_url=item.snippet.customUrl
        )

    async def active_broadcasts(
        self, token: str, *, refresh: RefreshToken | None = None
    ) -> list[Broadcast]:
        """The token owner's active broadcasts (``liveBroadcasts.list`` with
        ``broadcastStatus=active&broadcastType=all``, 5 units)."""
        body = await self.request_checked(
            "GET",
            "liveBroadcasts",
            token,
            refresh=refresh,
            params={
                "part": "id,snippet,status",
                "broadcastStatus": "active",
                "broadcastType": "all",
                "maxResults": "50",
            },
        )
        return [
            Broadcast(
                id=item.id,
                title=item.snippet.title,
                life_cycle_status=item.status.lifeCycleStatus,
                live_chat_id=item.snippet.liveChatId,
                actual_start_time=item.snippet.actualStartTime,
            )
            for item in _decode(body, _List[_Broadcast]).items
        ]

    async def chat_messages(
        self,
        token: str,
        live_chat_id: str,
        page_token: str | None,
        *,
        refresh: RefreshToken | None = None,
    ) -> ChatPage:
        """One page of a live chat (``liveChatMessages.list``, 5 units). The first page
        (``page_token`` None) is the chat's history; follow ``next_page_token`` after waiting
        at least ``polling_interval_millis``."""
        params = {
            "liveChatId": live_chat_id,
            "part": "id,snippet,authorDetails",
            "maxResults": "2000",
        }
        if page_token:
            params["pageToken"] = page_token
        body = await self.request_checked(
            "GET", "liveChat/messages", token, refresh=refresh, params=params
        )
        page = _decode(body, _ChatList)
        return ChatPage(
            messages=tuple(
                ChatMessage(
                    id=item.id,
                    type=item.snippet.type,
                    text=item.snippet.displayMessage
                    or (item.snippet.textMessageDetails or _Text()).messageText
                    or "",
                    published_at=item.snippet.publishedAt,
                    author=ChatAuthor(
                        channel_id=item.authorDetails.channelId,
                        display_name=item.authorDetails.displayName,
                        is_owner=item.authorDetails.isChatOwner,
                        is_moderator=item.authorDetails.isChatModerator,
                        is_sponsor=item.authorDetails.isChatSponsor,
                    ),
                )
                for item in page.items
            ),
            next_page_token=page.nextPageToken,
            polling_interval_millis=page.pollingIntervalMillis,
            offline_at=page.offlineAt,
        )

    async def insert_chat_message(
        self,
        token: str,
        live_chat_id: str,
        text: str,
        *,
        refresh: RefreshToken | None = None,
    ) -> str:
        """Post ``text`` in a live chat as the token's owner (``liveChatMessages.insert``, 20
        units); the new message's id. Not retried: it could post twice."""
        check_chat_message(text)
        body = await self.request_checked(
            "POST",
            "liveChat/messages",
            token,
            refresh=refresh,
            params={"part": "snippet"},
            json={
                "snippet": {
                    "liveChatId": live_chat_id,
                    "type": "textMessageEvent",
                    "textMessageDetails": {"messageText": text[:MAX_YOUTUBE_CHAT_LENGTH]},
                }
            },
        )
        return _decode(body, _Inserted).id


_T = TypeVar("_T")
_Item = TypeVar("_Item")


def _decode(body: bytes, type_: type[_T]) -> _T:
    try:
        return msgspec.json.decode(body, type=type_)
    except (msgspec.DecodeError, RecursionError) as exc:
        raise ApiError(f"unexpected answer from YouTube: {exc}") from exc


class _List(msgspec.Struct, Generic[_Item]):
    items: list[_Item] = msgspec.field(default_factory=list)


class _ChannelSnippet(msgspec.Struct):
    title: str = ""
    customUrl: str | None = None


class _Channel(msgspec.Struct):
    id: str
    snippet: _ChannelSnippet = msgspec.field(default_factory=_ChannelSnippet)


class _BroadcastSnippet(msgspec.Struct):
    title: str = ""
    liveChatId: str | None = None
    actualStartTime: datetime | None = None


class _BroadcastStatus(msgspec.Struct):
    lifeCycleStatus: str = ""


class _Broadcast(msgspec.Struct):
    id: str
    snippet: _BroadcastSnippet = msgspec.field(default_factory=_BroadcastSnippet)
    status: _BroadcastStatus = msgspec.field(default_factory=_BroadcastStatus)


class _Text(msgspec.Struct):
    messageText: str | None = None


class _ChatSnippet(msgspec.Struct):
    type: str
    publishedAt: datetime
    displayMessage: str | None = None
    textMessageDetails: _Text | None = None


class _Author(msgspec.Struct):
    channelId: str
    displayName: str = ""
    isChatOwner: bool = False
    isChatModerator: bool = False
    isChatSponsor: bool = False


class _ChatItem(msgspec.Struct):
    id: str
    snippet: _ChatSnippet
    authorDetails: _Author


class _ChatList(msgspec.Struct):
    pollingIntervalMillis: int = 5000
    nextPageToken: str | None = None
    offlineAt: datetime | None = None
    items: list[_ChatItem] = msgspec.field(default_factory=list)


class _Inserted(msgspec.Struct):
    id: str
