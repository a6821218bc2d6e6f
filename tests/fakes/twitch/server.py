"""The fake Twitch as an aiohttp server on loopback: OAuth (id.twitch.tv) and the Helix
endpoints the platform calls, with inspectable state and failure injection."""

import base64
import math
import time
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlencode

import msgspec
from aiohttp import web

from tests.fakes.oauth import TOKEN_LIFETIME_SECONDS, GrantRefused, OAuthStore, Token
from tests.fakes.platform import FakePlatformServer
from tests.fakes.twitch import objects
from tests.fakes.twitch.objects import JsonObject
from tests.fakes.twitch.signing import Delivery, notification, post, revocation, verification

DEFAULT_CLIENT_ID: Final = "fakeclientid0123456789abcdefgh"
DEFAULT_CLIENT_SECRET: Final = "fakeclientsecret0123456789abcd"
RATE_LIMIT: Final = 800


@dataclass
class _Failures:
    rate_limited: list[float] = field(default_factory=list)
    unauthorized: int = 0
    chat_drops: list[tuple[str, str]] = field(default_factory=list)


#: A Helix handler's status and JSON body (None: no body).
_Answer = tuple[int, JsonObject | None]


class HelixError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class FakeTwitch(FakePlatformServer):
    """A fake Twitch for one app (``client_id``/``client_secret``), serving both id.twitch.tv
    (``/oauth2/...``) and Helix (``/helix/...``) on one loopback port.

    Sign-in: ``authorize(user_id, ...)`` (or ``GET /oauth2/authorize?...&fake_user_id=``)
    returns the code Twitch's redirect would carry; the token exchange checks the client secret,
    the redirect URI and the PKCE verifier. Refreshes rotate the refresh token."""

    def __init__(
        self,
        *,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        page_size: int = 100,
    ) -> None:
        super().__init__(OAuthStore(client_id, client_secret))
        self.page_size = page_size
        self.users: dict[str, JsonObject] = {}
        self.subscriptions: dict[str, JsonObject] = {}
        #: Secrets of webhook subscriptions, by subscription id (never shown in the API).
        self.subscription_secrets: dict[str, str] = {}
        self.chat_messages: list[JsonObject] = []
        self.predictions: dict[str, JsonObject] = {}
        #: Every request: (method, path, the token it carried or None).
        self.requests: list[tuple[str, str, str | None]] = []
        self._failures = _Failures()

    # --- lifecycle ------------------------------------------------------------------------------

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/oauth2/authorize", self._authorize)
        app.router.add_post("/oauth2/token", self._token)
        app.router.add_get("/oauth2/validate", self._validate)
        app.router.add_post("/oauth2/revoke", self._revoke)
        app.router.add_route("*", "/helix/{path:.*}", self._helix)

    @property
    def id_url(self) -> str:
        """The id.twitch.tv base URL (``TwitchOAuth(base_url=...)``)."""
        return self.url

    @property
    def helix_url(self) -> str:
        """The Helix base URL (``HelixClient(base_url=...)``)."""
        return f"{self.url}/helix"

    # --- state set up by tests ------------------------------------------------------------------

    def add_user(self, user_id: str, login: str, display_name: str | None = None) -> JsonObject:
        self.users[user_id] = objects.user(user_id, login, display_name)
        return self.users[user_id]

    def authorize(self, user_id: str, **request: Any) -> str:
        """The code Twitch would send back after ``user_id`` approves the app (``request``:
        ``OAuthStore.authorize``'s)."""
        if user_id not in self.users:
            raise KeyError(f"no fake user {user_id}")
        return self.oauth.authorize(user_id, **request)

    # --- failure injection ----------------------------------------------------------------------

    def rate_limit_next(self, count: int = 1, *, reset_in: float = 1.0) -> None:
        """Answer the next ``count`` Helix requests 429, with the bucket refilled ``reset_in``
        seconds after each answer (``Ratelimit-Reset``)."""
        self._failures.rate_limited.extend([reset_in] * count)

    def unauthorized_next(self, count: int = 1) -> None:
        """Answer the next ``count`` Helix requests 401, whatever their token."""
        self._failures.unauthorized += count

    def drop_next_chat_message(
        self, code: str = "msg_rejected", message: str = "Your message is being checked by mods."
    ) -> None:
        self._failures.chat_drops.append((code, message))

    def expire(self, access_token: str) -> None:
        self.tokens[access_token].expires_at = time.time() - 1

    # --- EventSub deliveries of the subscriptions made through the API -------------------------

    def verification_for(self, subscription_id: str, challenge: str | None = None) -> Delivery:
        return verification(
            self.subscriptions[subscription_id],
            self.subscription_secrets[subscription_id],
            challenge=challenge,
        )

    def notification_for(self, subscription_id: str, event: JsonObject) -> Delivery:
        subscription = self.subscriptions[subscription_id]
        return notification(subscription, event, self.subscription_secrets[subscription_id])

    def revocation_for(
        self, subscription_id: str, reason: str = "authorization_revoked"
    ) -> Delivery:
        subscription = self.subscriptions[subscription_id]
        subscription["status"] = reason
        return revocation(subscription, self.subscription_secrets[subscription_id], reason=reason)

    async def verify_callback(self, subscription_id: str) -> bool:
        """Send the challenge to the subscription's callback as Twitch does; enable the
        subscription when the callback echoes it (200, the challenge as the body)."""
        delivery = self.verification_for(subscription_id)
        challenge = msgspec.json.decode(delivery.body)["challenge"]
        callback = self.subscriptions[subscription_id]["transport"]["callback"]
        response = await post(callback, delivery)
        enabled = response.status_code == 200 and response.text == challenge
        self.subscriptions[subscription_id]["status"] = (
            "enabled" if enabled else "webhook_callback_verification_failed"
        )
        return enabled

    # --- OAuth ----------------------------------------------------------------------------------

    async def _authorize(self, request: web.Request) -> web.Response:
        query = request.query
        user_id = query.get("fake_user_id")
        if query.get("client_id") != self.client_id or query.get("response_type") != "code":
            return _oauth_error(400, "invalid client or response type")
        if user_id is None or user_id not in self.users:
            return _oauth_error(400, "fake sign-in needs fake_user_id of a known user")
        code = self.authorize(
            user_id,
            redirect_uri=query["redirect_uri"],
            scopes=query.get("scope", "").split(),
            code_challenge=query.get("code_challenge"),
            code_challenge_method=query.get("code_challenge_method"),
        )
        back = {"code": code, "scope": query.get("scope", ""), "state": query.get("state", "")}
        raise web.HTTPFound(f"{query['redirect_uri']}?{urlencode(back)}")

    async def _token(self, request: web.Request) -> web.Response:
        form = {key: str(value) for key, value in (await request.post()).items()}
        self.requests.append(("POST", "/oauth2/token", None))
        try:
            token, app = self.oauth.grant(form)
        except GrantRefused as refused:
            return _oauth_error(refused.status, refused.message)
        if app:
            return web.json_response(
                {
                    "access_token": token.access_token,
                    "expires_in": TOKEN_LIFETIME_SECONDS,
                    "token_type": "bearer",
                }
            )
        return _token_response(token)

    async def _validate(self, request: web.Request) -> web.Response:
        scheme, _, access = request.headers.get("Authorization", "").partition(" ")
        token = self.tokens.get(access) if scheme.lower() == "oauth" else None
        if token is None or not token.usable:
            return _oauth_error(401, "invalid access token")
        body: JsonObject = {
            "client_id": token.client_id,
            "scopes": token.scopes,
            "expires_in": int(token.expires_at - time.time()),
        }
        if token.user_id is not None:
            body |= {"login": self.users[token.user_id]["login"], "user_id": token.user_id}
        return web.json_response(body)

    async def _revoke(self, request: web.Request) -> web.Response:
        form = await request.post()
        token = self.tokens.get(str(form.get("token", "")))
        if form.get("client_id") != self.client_id or token is None:
            return _oauth_error(400, "Invalid token")
        self.revoke(token.access_token)
        return web.Response(status=200)

    # --- Helix ----------------------------------------------------------------------------------

    async def _helix(self, request: web.Request) -> web.Response:
        access = request.headers.get("Authorization", "").partition(" ")[2]
        path = request.match_info["path"]
        self.requests.append((request.method, f"/helix/{path}", access or None))
        headers = {"Ratelimit-Limit": str(RATE_LIMIT), "Ratelimit-Remaining": str(RATE_LIMIT - 1)}
        reset = int(time.time()) + 60
        if self._failures.rate_limited:
            reset_in = self._failures.rate_limited.pop(0)
            headers |= {
                "Ratelimit-Remaining": "0",
                "Ratelimit-Reset": str(math.ceil(time.time() + reset_in)),
            }
            return _helix_error(429, "Too Many Requests", headers)
        headers["Ratelimit-Reset"] = str(reset)
        if self._failures.unauthorized:
            self._failures.unauthorized -= 1
            return _helix_error(401, "Invalid OAuth token", headers)
        token = self.oauth.bearer(request.headers.get("Authorization", ""))
        if token is None:
            return _helix_error(401, "Invalid OAuth token", headers)
        if request.headers.get("Client-Id") != token.client_id:
            return _helix_error(401, "Client ID and OAuth token do not match", headers)
        handler = _ROUTES.get((request.method, path))
        if handler is None:
            return _helix_error(404, "Not Found", headers)
        body: JsonObject = {}
        if request.can_read_body:
            try:
                body = msgspec.json.decode(await request.read())
            except msgspec.DecodeError:
                return _helix_error(400, "Malformed JSON", headers)
        try:
            status, payload = handler(self, token, request, body)
        except HelixError as error:
            return _helix_error(error.status, error.message, headers)
        if payload is None:
            return web.Response(status=status, headers=headers)
        return web.json_response(payload, status=status, headers=headers)

    def _users(self, token: Token, request: web.Request, _body: JsonObject) -> _Answer:
        ids = request.query.getall("id", [])
        if not ids:
            if token.user_id is None:
                raise HelixError(400, "Missing user id")
            ids = [token.user_id]
        return 200, {"data": [self.users[user_id] for user_id in ids if user_id in self.users]}

    def _create_subscription(
        self, token: Token, _request: web.Request, body: JsonObject
    ) -> _Answer:
        transport = body.get("transport") or {}
        method = transport.get("method")
        if method == "webhook":
            if token.user_id is not None:
                raise HelixError(400, "An app access token is required.")
            secret = transport.get("secret", "")
            if not 10 <= len(secret) <= 100:
                raise HelixError(400, "The secret must be between 10 and 100 characters long.")
        elif method == "websocket":
            if token.user_id is None:
                raise HelixError(400, "A user access token is required for a WebSocket transport.")
        else:
            raise HelixError(400, "Invalid transport method.")
        for existing in self.subscriptions.values():
            shown = {key: value for key, value in transport.items() if key != "secret"}
            if (
                existing["type"] == body.get("type")
                and existing["version"] == body.get("version")
                and existing["condition"] == body.get("condition")
                and all(existing["transport"].get(key) == value for key, value in shown.items())
            ):
                raise HelixError(409, "subscription already exists")
        subscription = objects.subscription(
            str(body.get("type")),
            dict(body.get("condition") or {}),
            transport
            if method == "webhook"
            else transport | {"connected_at": objects.rfc3339(nanoseconds=False)},
            version=str(body.get("version")),
            status="webhook_callback_verification_pending" if method == "webhook" else "enabled",
        )
        self.subscriptions[subscription["id"]] = subscription
        if method == "webhook":
            self.subscription_secrets[subscription["id"]] = transport["secret"]
        return 202, {
            "data": [subscription],
            "total": len(self.subscriptions),
            "total_cost": 0,
            "max_total_cost": 10_000,
        }

    def _list_subscriptions(
        self, _token: Token, request: web.Request, _body: JsonObject
    ) -> _Answer:
        query = request.query
        matching = [
            subscription
            for subscription in self.subscriptions.values()
            if query.get("status", subscription["status"]) == subscription["status"]
            and query.get("type", subscription["type"]) == subscription["type"]
            and ("user_id" not in query or query["user_id"] in subscription["condition"].values())
        ]
        start = int(base64.urlsafe_b64decode(query["after"]).decode()) if "after" in query else 0
        page = matching[start : start + self.page_size]
        following = start + self.page_size
        pagination = (
            {"cursor": base64.urlsafe_b64encode(str(following).encode()).decode()}
            if following < len(matching)
            else {}
        )
        return 200, {
            "data": page,
            "total": len(matching),
            "total_cost": 0,
            "max_total_cost": 10_000,
            "pagination": pagination,
        }

    def _delete_subscription(
        self, _token: Token, request: web.Request, _body: JsonObject
    ) -> _Answer:
        if self.subscriptions.pop(request.query.get("id", ""), None) is None:
            raise HelixError(404, "subscription not found")
        return 204, None

    def _send_chat_message(self, token: Token, _request: web.Request, body: JsonObject) -> _Answer:
        if token.user_id is None or token.user_id != body.get("sender_id"):
            raise HelixError(401, "The sender must be the user the token belongs to.")
        if "user:write:chat" not in token.scopes:
            raise HelixError(401, "Missing scope: user:write:chat")
        message = body.get("message", "")
        if not message or len(message) > 500:
            raise HelixError(400, "The message must be 1 to 500 characters long.")
        message_id = objects.new_id()
        if self._failures.chat_drops:
            code, reason = self._failures.chat_drops.pop(0)
            return 200, {
                "data": [
                    {
                        "message_id": "",
                        "is_sent": False,
                        "drop_reason": {"code": code, "message": reason},
                    }
                ]
            }
        self.chat_messages.append(body | {"message_id": message_id})
        return 200, {"data": [{"message_id": message_id, "is_sent": True, "drop_reason": None}]}

    def _create_prediction(self, token: Token, _request: web.Request, body: JsonObject) -> _Answer:
        broadcaster_id = str(body.get("broadcaster_id"))
        _require_broadcaster(token, broadcaster_id)
        title = str(body.get("title", ""))
        outcomes = body.get("outcomes") or []
        window = body.get("prediction_window")
        if not 1 <= len(title) <= 45:
            raise HelixError(400, "The title must be 1 to 45 characters long.")
        if not 2 <= len(outcomes) <= 10 or any(
            not 1 <= len(outcome.get("title", "")) <= 25 for outcome in outcomes
        ):
            raise HelixError(400, "A prediction needs 2 to 10 outcomes of 1 to 25 characters.")
        if not isinstance(window, int) or not 30 <= window <= 1800:
            raise HelixError(400, "The prediction window must be 30 to 1800 seconds.")
        if any(
            prediction["broadcaster_id"] == broadcaster_id
            and prediction["status"] in ("ACTIVE", "LOCKED")
            for prediction in self.predictions.values()
        ):
            raise HelixError(400, "The broadcaster already has an active prediction.")
        user = self.users[broadcaster_id]
        prediction = {
            "id": objects.new_id(),
            "broadcaster_id": broadcaster_id,
            "broadcaster_name": user["display_name"],
            "broadcaster_login": user["login"],
            "title": title,
            "winning_outcome_id": None,
            "outcomes": [
                {
                    "id": objects.new_id(),
                    "title": outcome["title"],
                    "users": 0,
                    "channel_points": 0,
                    "top_predictors": None,
                    "color": "BLUE" if index == 0 else "PINK",
                }
                for index, outcome in enumerate(outcomes)
            ],
            "prediction_window": window,
            "status": "ACTIVE",
            "created_at": objects.rfc3339(nanoseconds=False),
            "ended_at": None,
            "locked_at": None,
        }
        self.predictions[prediction["id"]] = prediction
        return 200, {"data": [prediction]}

    def _end_prediction(self, token: Token, _request: web.Request, body: JsonObject) -> _Answer:
        _require_broadcaster(token, str(body.get("broadcaster_id")))
        prediction = self.predictions.get(str(body.get("id")))
        if prediction is None or prediction["broadcaster_id"] != body.get("broadcaster_id"):
            raise HelixError(404, "prediction not found")
        status = body.get("status")
        current = prediction["status"]
        if status == "LOCKED" and current == "ACTIVE":
            prediction |= {"status": "LOCKED", "locked_at": objects.rfc3339(nanoseconds=False)}
        elif status == "CANCELED" and current in ("ACTIVE", "LOCKED"):
            prediction |= {"status": "CANCELED", "ended_at": objects.rfc3339(nanoseconds=False)}
        elif status == "RESOLVED" and current in ("ACTIVE", "LOCKED"):
            winner = body.get("winning_outcome_id")
            if winner not in {outcome["id"] for outcome in prediction["outcomes"]}:
                raise HelixError(400, "The winning outcome is not one of the prediction's.")
            prediction |= {
                "status": "RESOLVED",
                "winning_outcome_id": winner,
                "ended_at": objects.rfc3339(nanoseconds=False),
            }
        else:
            raise HelixError(400, f"The prediction cannot go from {current} to {status}.")
        return 200, {"data": [prediction]}

    def _get_predictions(self, token: Token, request: web.Request, _body: JsonObject) -> _Answer:
        broadcaster_id = request.query.get("broadcaster_id", "")
        _require_broadcaster(token, broadcaster_id)
        ids = request.query.getall("id", [])
        found = [
            prediction
            for prediction in reversed(self.predictions.values())
            if prediction["broadcaster_id"] == broadcaster_id
            and (not ids or prediction["id"] in ids)
        ]
        return 200, {"data": found, "pagination": {}}


_ROUTES: Final[dict[tuple[str, str], Any]] = {
    ("GET", "users"): FakeTwitch._users,
    ("POST", "eventsub/subscriptions"): FakeTwitch._create_subscription,
    ("GET", "eventsub/subscriptions"): FakeTwitch._list_subscriptions,
    ("DELETE", "eventsub/subscriptions"): FakeTwitch._delete_subscription,
    ("POST", "chat/messages"): FakeTwitch._send_chat_message,
    ("POST", "predictions"): FakeTwitch._create_prediction,
    ("PATCH", "predictions"): FakeTwitch._end_prediction,
    ("GET", "predictions"): FakeTwitch._get_predictions,
}


def _require_broadcaster(token: Token, broadcaster_id: str) -> None:
    if token.user_id != broadcaster_id:
        raise HelixError(401, "The broadcaster_id must match the user ID in the user access token.")
    if "channel:manage:predictions" not in token.scopes:
        raise HelixError(401, "Missing scope: channel:manage:predictions")


def _token_response(token: Token) -> web.Response:
    return web.json_response(
        {
            "access_token": token.access_token,
            "expires_in": TOKEN_LIFETIME_SECONDS,
            "refresh_token": token.refresh_token,
            "scope": token.scopes,
            "token_type": "bearer",
        }
    )


def _oauth_error(status: int, message: str) -> web.Response:
    # id.twitch.tv answers {"status", "message"}, without Helix's "error".
    return web.json_response({"status": status, "message": message}, status=status)


_REASONS: Final = {
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    409: "Conflict",
    429: "Too Many Requests",
}


def _helix_error(status: int, message: str, headers: dict[str, str]) -> web.Response:
    body = {"error": _REASONS.get(status, "Error"), "status": status, "message": message}
    return web.json_response(body, status=status, headers=headers)
