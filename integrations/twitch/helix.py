"""The Helix API calls the platform makes: users, EventSub subscriptions, chat, predictions.

httpx rather than twitchio 3.3's HTTP client, because of what its source does: its
``HTTPException`` keeps the status and body but not the headers, so a 429 cannot honour
``Ratelimit-Reset`` (and twitchio does not handle 429 at all); its base URLs are process-wide
class attributes (``Route.BASE``), so two clients cannot point at two hosts; and its token
manager keeps tokens in one process's memory, validates them over the network when added and
every minute after, and refreshes them on its own (on a 401 and in that loop), while here one
process refreshes each token and stores it encrypted. Its ``create_prediction`` also checks the
window only after the POST (and allows 15 s where Twitch's minimum is 30)."""

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime
from typing import Final, Generic, Literal, TypeVar

import httpx
import msgspec

from integrations.api import ApiClient
from integrations.chat import MAX_CHAT_MESSAGE_LENGTH as MAX_CHAT_MESSAGE_LENGTH
from integrations.chat import ChatMessageSent, check_chat_message
from integrations.chat import InvalidChatMessage as InvalidChatMessage
from integrations.chat import RefreshToken as RefreshToken
from integrations.twitch.errors import (
    TwitchError,
    TwitchRequestFailed,
)
from integrations.twitch.eventsub import Subscription

DEFAULT_HELIX_BASE_URL: Final = "https://api.twitch.tv/helix"

MAX_PREDICTION_TITLE_LENGTH: Final = 45
MAX_OUTCOME_TITLE_LENGTH: Final = 25
MIN_OUTCOMES, MAX_OUTCOMES = 2, 10
MIN_PREDICTION_WINDOW_SECONDS, MAX_PREDICTION_WINDOW_SECONDS = 30, 1800

PredictionEnd = Literal["RESOLVED", "CANCELED", "LOCKED"]


class InvalidPrediction(ValueError):
    """A prediction Twitch would refuse (title, outcomes or window out of bounds)."""


class RateLimit(msgspec.Struct, frozen=True, kw_only=True):
    """The token's bucket after the last response (``Ratelimit-*`` headers)."""

    limit: int
    remaining: int
    reset_at: float


class User(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    login: str
    display_name: str


class SubscriptionCreated(msgspec.Struct, frozen=True, kw_only=True):
    """The subscription created, or ``already_exists`` (409) with no subscription: Twitch
    already sends these events to this transport, which is what the caller wanted."""

    subscription: Subscription | None
    already_exists: bool = False


class HelixOutcome(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    title: str
    users: int = 0
    channel_points: int = 0
    color: str | None = None


class HelixPrediction(msgspec.Struct, frozen=True, kw_only=True):
    """A prediction as Helix returns it; statuses are Helix's uppercase ones."""

    id: str
    broadcaster_id: str
    title: str
    outcomes: tuple[HelixOutcome, ...]
    prediction_window: int
    #: ACTIVE | LOCKED | RESOLVED | CANCELED
    status: str
    created_at: datetime
    winning_outcome_id: str | None = None
    locked_at: datetime | None = None
    ended_at: datetime | None = None


def webhook_transport(callback: str, secret: str) -> dict[str, str]:
    """A webhook transport: Twitch POSTs to ``callback`` (HTTPS, port 443) signed with ``secret``."""
    if not (10 <= len(secret) <= 100 and secret.isascii()):
        raise ValueError("an EventSub secret has 10 to 100 ASCII characters")
    return {"method": "webhook", "callback": callback, "secret": secret}


def websocket_transport(session_id: str) -> dict[str, str]:
    """A WebSocket transport: events go to the connection that was welcomed with ``session_id``."""
    return {"method": "websocket", "session_id": session_id}


class HelixClient(ApiClient):
    """The one way the platform calls Helix. Methods take the token to act with; those acting as
    a user also take the ``refresh`` to call once if that token is refused."""

    api_name = "Helix"

    def __init__(
        self,
        client_id: str,
        *,
        base_url: str = DEFAULT_HELIX_BASE_URL,
        timeout_seconds: float = 10,
        transport: httpx.AsyncBaseTransport | None = None,
        max_retries: int = 2,
        max_rate_limit_wait_seconds: float = 60,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not client_id:
            raise ValueError("Helix calls need the app's client id")
        super().__init__(
            base_url=base_url,
            timeout_seconds=timeout_seconds,
            transport=transport,
            max_retries=max_retries,
            max_rate_limit_wait_seconds=max_rate_limit_wait_seconds,
            sleep=sleep,
            clock=clock,
        )
        self._client_id = client_id
        #: The bucket as the last response left it (None before the first call).
        self.last_rate_limit: RateLimit | None = None

    def headers(self, token: str | None) -> dict[str, str]:
        return super().headers(token) | {"Client-Id": self._client_id}

    # --- users ----------------------------------------------------------------------------------

    async def get_user(self, token: str, *, refresh: RefreshToken | None = None) -> User:
        """The user a user token belongs to."""
        response = await self.request("GET", "users", token, refresh=refresh)
        users = self.decode(response, _Data[list[User]]).data
        if not users:
            raise TwitchError("Helix returned no user for the token")
        return users[0]

    # --- EventSub subscriptions -----------------------------------------------------------------

    async def create_subscription(
        self,
        token: str,
        *,
        subscription_type: str,
        condition: Mapping[str, str],
        transport: Mapping[str, str],
        version: str = "1",
        refresh: RefreshToken | None = None,
    ) -> SubscriptionCreated:
        """Subscribe ``transport`` to ``subscription_type`` events matching ``condition``.

        Webhook transports need an app access token; WebSocket ones the user's token."""
        body = {
            "type": subscription_type,
            "version": version,
            "condition": dict(condition),
            "transport": dict(transport),
        }
        try:
            response = await self.request(
                "POST", "eventsub/subscriptions", token, refresh=refresh, json=body
            )
        except TwitchRequestFailed as exc:
            if exc.status == 409:
                return SubscriptionCreated(subscription=None, already_exists=True)
            raise
        created = self.decode(response, _Data[list[Subscription]]).data
        if not created:
            raise TwitchError("Helix created no subscription")
        return SubscriptionCreated(subscription=created[0])

    async def list_subscriptions(
        self,
        token: str,
        *,
        status: str | None = None,
        subscription_type: str | None = None,
        user_id: str | None = None,
        refresh: RefreshToken | None = None,
    ) -> list[Subscription]:
        """Every subscription of the token's client (following the cursor), filtered by one of
        ``status``, ``subscription_type`` or ``user_id``, as Helix allows only one."""
        if sum(value is not None for value in (status, subscription_type, user_id)) > 1:
            raise ValueError("Helix filters subscriptions by one of status, type or user_id")
        params = {
            key: value
            for key, value in (
                ("status", status),
                ("type", subscription_type),
                ("user_id", user_id),
            )
            if value is not None
        }
        subscriptions: list[Subscription] = []
        cursor: str | None = None
        while True:
            page_params = params | ({"after": cursor} if cursor else {})
            response = await self.request(
                "GET", "eventsub/subscriptions", token, refresh=refresh, params=page_params
            )
            page = self.decode(response, _Page[Subscription])
            subscriptions.extend(page.data)
            cursor = page.pagination.cursor
            if not cursor or not page.data:
                return subscriptions

    async def delete_subscription(
        self, token: str, subscription_id: str, *, refresh: RefreshToken | None = None
    ) -> bool:
        """Delete a subscription; False when Twitch no longer has it."""
        return await self.delete(
            "eventsub/subscriptions", token, refresh=refresh, params={"id": subscription_id}
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
        """Send ``message`` to the broadcaster's chat as ``sender_id`` (the bot), with the
        sender's user token (``user:write:chat``). Not retried on failure: it could post twice."""
        check_chat_message(message)
        body: dict[str, str] = {
            "broadcaster_id": broadcaster_id,
            "sender_id": sender_id,
            "message": message,
        }
        if reply_parent_message_id is not None:
            body["reply_parent_message_id"] = reply_parent_message_id
        response = await self.request("POST", "chat/messages", token, refresh=refresh, json=body)
        sent = self.decode(response, _Data[list[_SentMessage]]).data
        if not sent:
            raise TwitchError("Helix answered a chat message with no result")
        result = sent[0]
        return ChatMessageSent(
            message_id=result.message_id,
            is_sent=result.is_sent,
            drop_reason_code=result.drop_reason.code if result.drop_reason else None,
            drop_reason_message=result.drop_reason.message if result.drop_reason else None,
        )

    # --- predictions ----------------------------------------------------------------------------

    async def create_prediction(
        self,
        token: str,
        *,
        broadcaster_id: str,
        title: str,
        outcomes: Iterable[str],
        window_seconds: int,
        refresh: RefreshToken | None = None,
    ) -> HelixPrediction:
        """Start a prediction in the broadcaster's channel, with the broadcaster's own token
        (``channel:manage:predictions``). Checked here first: Twitch's refusal costs a call."""
        outcome_titles = list(outcomes)
        check_prediction(title, outcome_titles, window_seconds)
        body = {
            "broadcaster_id": broadcaster_id,
            "title": title,
            "outcomes": [{"title": outcome} for outcome in outcome_titles],
            "prediction_window": window_seconds,
        }
        response = await self.request("POST", "predictions", token, refresh=refresh, json=body)
        return self._one_prediction(response)

    async def end_prediction(
        self,
        token: str,
        *,
        broadcaster_id: str,
        prediction_id: str,
        status: PredictionEnd,
        winning_outcome_id: str | None = None,
        refresh: RefreshToken | None = None,
    ) -> HelixPrediction:
        """Lock, resolve (with ``winning_outcome_id``) or cancel a prediction."""
        if (status == "RESOLVED") != (winning_outcome_id is not None):
            raise InvalidPrediction("a winning outcome is given when, and only when, resolving")
        body = {"broadcaster_id": broadcaster_id, "id": prediction_id, "status": status}
        if winning_outcome_id is not None:
            body["winning_outcome_id"] = winning_outcome_id
        response = await self.request("PATCH", "predictions", token, refresh=refresh, json=body)
        return self._one_prediction(response)

    async def get_predictions(
        self,
        token: str,
        *,
        broadcaster_id: str,
        prediction_ids: Iterable[str] = (),
        refresh: RefreshToken | None = None,
    ) -> list[HelixPrediction]:
        """The broadcaster's predictions (the given ones, or the latest first)."""
        params: list[tuple[str, str]] = [("broadcaster_id", broadcaster_id)]
        params.extend(("id", prediction_id) for prediction_id in prediction_ids)
        response = await self.request("GET", "predictions", token, refresh=refresh, params=params)
        return list(self.decode(response, _Data[list[HelixPrediction]]).data)

    # --- the request loop -----------------------------------------------------------------------

    def _one_prediction(self, response: httpx.Response) -> HelixPrediction:
        predictions = self.decode(response, _Data[list[HelixPrediction]]).data
        if not predictions:
            raise TwitchError("Helix returned no prediction")
        return predictions[0]

    def remember_rate_limit(self, response: httpx.Response) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self.last_rate_limit = RateLimit(
                limit=int(response.headers["Ratelimit-Limit"]),
                remaining=int(response.headers["Ratelimit-Remaining"]),
                reset_at=float(response.headers["Ratelimit-Reset"]),
            )

    def reset_at(self, response: httpx.Response) -> float:
        try:
            return float(response.headers["Ratelimit-Reset"])
        except (KeyError, ValueError):
            # No usable reset time: a second is how often the bucket refills a little.
            return self._clock() + 1


def check_prediction(title: str, outcomes: list[str], window_seconds: int) -> None:
    """Twitch's bounds on a prediction, checked before asking Twitch."""
    if not title.strip() or len(title) > MAX_PREDICTION_TITLE_LENGTH:
        raise InvalidPrediction(f"a title has 1 to {MAX_PREDICTION_TITLE_LENGTH} characters")
    if not MIN_OUTCOMES <= len(outcomes) <= MAX_OUTCOMES:
        raise InvalidPrediction(f"a prediction has {MIN_OUTCOMES} to {MAX_OUTCOMES} outcomes")
    for outcome in outcomes:
        if not outcome.strip() or len(outcome) > MAX_OUTCOME_TITLE_LENGTH:
            raise InvalidPrediction(
                f"an outcome has 1 to {MAX_OUTCOME_TITLE_LENGTH} characters: {outcome!r}"
            )
    if not MIN_PREDICTION_WINDOW_SECONDS <= window_seconds <= MAX_PREDICTION_WINDOW_SECONDS:
        raise InvalidPrediction(
            f"a prediction window is {MIN_PREDICTION_WINDOW_SECONDS} to "
            f"{MAX_PREDICTION_WINDOW_SECONDS} seconds"
        )


_Item = TypeVar("_Item")


class _Data(msgspec.Struct, Generic[_Item]):
    data: _Item


class _Pagination(msgspec.Struct):
    cursor: str | None = None


class _Page(msgspec.Struct, Generic[_Item]):
    data: list[_Item]
    pagination: _Pagination = msgspec.field(default_factory=_Pagination)


class _DropReason(msgspec.Struct):
    code: str
    message: str


class _SentMessage(msgspec.Struct):
    message_id: str
    is_sent: bool
    drop_reason: _DropReason | None = None
