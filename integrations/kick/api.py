"""The calls the platform makes to Kick's public API (api.kick.com/public): users, channels,
live state, event subscriptions, chat, and the public key that signs webhooks."""

from collections.abc import Iterable
from datetime import datetime
from typing import Final, Generic, TypeVar

import msgspec

from integrations.api import ApiClient
from integrations.chat import ChatMessageSent, RefreshToken, check_chat_message
from integrations.errors import ApiError

DEFAULT_API_BASE_URL: Final = "https://api.kick.com"

#: The events the platform acts on, each at version 1.
LIVESTREAM_STATUS_UPDATED: Final = "livestream.status.updated"
CHAT_MESSAGE_SENT: Final = "chat.message.sent"

#: Kick's ids are integers in JSON; the platform keeps every platform id as a string.
KickId = int | str


class User(msgspec.Struct, frozen=True, kw_only=True):
    user_id: str
    name: str
    email: str | None = None


class Channel(msgspec.Struct, frozen=True, kw_only=True):
    broadcaster_user_id: str
    slug: str
    stream_title: str = ""


class Livestream(msgspec.Struct, frozen=True, kw_only=True):
    """A channel live now (``GET /public/v2/livestreams``)."""

    broadcaster_user_id: str
    slug: str
    started_at: datetime | None
    stream_title: str = ""


class EventSubscription(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    broadcaster_user_id: str
    event: str
    version: int
    method: str = "webhook"


class SubscriptionCreated(msgspec.Struct, frozen=True, kw_only=True):
    """One event of a subscription request: its new id, or Kick's reason for refusing it."""

    name: str
    version: int
    subscription_id: str | None
    error: str | None = None


class KickApi(ApiClient):
    """The one way the platform calls Kick's API. Methods take the token to act with (a user's
    or the app's); those acting as a user also take the ``refresh`` to call once if that token
    is refused."""

    api_name = "Kick"

    # --- users and channels ---------------------------------------------------------------------

    async def get_user(self, token: str, *, refresh: RefreshToken | None = None) -> User:
        """The user a user token belongs to (``user:read``)."""
        response = await self.request("GET", "public/v1/users", token, refresh=refresh)
        users = self.decode(response, _Data[list[_User]]).data
        if not users:
            raise ApiError("Kick returned no user for the token")
        user = users[0]
        return User(user_id=str(user.user_id), name=user.name, email=user.email or None)

    async def get_channel(self, token: str, broadcaster_user_id: str) -> Channel | None:
        response = await self.request(
            "GET",
            "public/v1/channels",
            token,
            refresh=None,
            params={"broadcaster_user_id": broadcaster_user_id},
        )
        channels = self.decode(response, _Data[list[_Channel]]).data
        if not channels:
            return None
        channel = channels[0]
        return Channel(
            broadcaster_user_id=str(channel.broadcaster_user_id),
            slug=channel.slug,
            stream_title=channel.stream_title or "",
        )

    async def livestreams(
        self, token: str, broadcaster_user_ids: Iterable[str]
    ) -> list[Livestream]:
        """Which of these broadcasters are live now (v2: v1 is deprecated)."""
        params = [("broadcaster_user_id", user_id) for user_id in broadcaster_user_ids]
        if not params:
            return []
        response = await self.request(
            "GET", "public/v2/livestreams", token, refresh=None, params=params
        )
        return [
            Livestream(
                broadcaster_user_id=str(live.broadcaster_user_id),
                slug=live.slug,
                started_at=live.started_at,
                stream_title=live.stream_title or "",
            )
            for live in self.decode(response, _Data[list[_Livestream]]).data
        ]

    # --- event subscriptions --------------------------------------------------------------------

    async def list_subscriptions(self, token: str) -> list[EventSubscription]:
        """The app's event subscriptions (with the app token: every broadcaster's)."""
        response = await self.request("GET", "public/v1/events/subscriptions", token, refresh=None)
        return [
            EventSubscription(
                id=item.id,
                broadcaster_user_id=str(item.broadcaster_user_id),
                event=item.event,
                version=item.version,
                method=item.method or "webhook",
            )
            for item in self.decode(response, _Data[list[_Subscription]]).data
        ]

    async def create_subscriptions(
        self,
        token: str,
        *,
        broadcaster_user_id: str,
        events: Iterable[tuple[str, int]],
        refresh: RefreshToken | None = None,
    ) -> list[SubscriptionCreated]:
        """Subscribe the app's webhook (set in Kick's developer settings) to ``events`` (name,
        version) of one broadcaster."""
        body = {
            "broadcaster_user_id": int(broadcaster_user_id),
            "events": [{"name": name, "version": version} for name, version in events],
            "method": "webhook",
        }
        response = await self.request(
            "POST", "public/v1/events/subscriptions", token, refresh=refresh, json=body
        )
        return [
            SubscriptionCreated(
                name=item.name,
                version=item.version,
                subscription_id=item.subscription_id or None,
                error=item.error or None,
            )
            for item in self.decode(response, _Data[list[_Created]]).data
        ]

    async def delete_subscription(self, token: str, subscription_id: str) -> bool:
        """Delete a subscription; False when Kick no longer has it."""
        return await self.delete(
            "public/v1/events/subscriptions", token, refresh=None, params={"id": subscription_id}
        )

    # --- chat -----------------------------------------------------------------------------------

    async def send_chat_message(
        self,
        token: str,
        *,
        broadcaster_id: str,
        sender_id: str,
        message: str,
        reply_parent_message_id: str | None = None,
        refresh: RefreshToken | None = None,
    ) -> ChatMessageSent:
        """Send ``message`` to the broadcaster's chat as the user whose token it is (the bot,
        ``chat:write``; ``sender_id`` is that user, as Kick infers it from the token). Not
        retried on failure: it could post twice."""
        check_chat_message(message)
        body: dict[str, object] = {
            "type": "user",
            "broadcaster_user_id": int(broadcaster_id),
            "content": message,
        }
        if reply_parent_message_id is not None:
            body["reply_to_message_id"] = reply_parent_message_id
        response = await self.request("POST", "public/v1/chat", token, refresh=refresh, json=body)
        sent = self.decode(response, _Data[_Sent]).data
        return ChatMessageSent(
            message_id=sent.message_id or "",
            is_sent=sent.is_sent,
            drop_reason_code=None if sent.is_sent else "not_sent",
        )

    # --- webhooks -------------------------------------------------------------------------------

    async def public_key(self) -> str:
        """The PEM of the public key Kick signs webhooks with (no token needed)."""
        response = await self.request("GET", "public/v1/public-key", None, refresh=None)
        return self.decode(response, _Data[_PublicKey]).data.public_key


_Item = TypeVar("_Item")


class _Data(msgspec.Struct, Generic[_Item]):
    data: _Item


class _User(msgspec.Struct):
    user_id: KickId
    name: str
    email: str | None = None


class _Channel(msgspec.Struct):
    broadcaster_user_id: KickId
    slug: str
    stream_title: str | None = None


class _Livestream(msgspec.Struct):
    broadcaster_user_id: KickId
    slug: str = ""
    started_at: datetime | None = None
    stream_title: str | None = None


class _Subscription(msgspec.Struct):
    id: str
    broadcaster_user_id: KickId
    event: str
    version: int
    method: str | None = None


class _Created(msgspec.Struct):
    name: str
    version: int
    subscription_id: str | None = None
    error: str | None = None


class _Sent(msgspec.Struct):
    is_sent: bool
    message_id: str | None = None


class _PublicKey(msgspec.Struct):
    public_key: str
