"""The fake Kick as an aiohttp server on loopback: OAuth (id.kick.com, PKCE required) and the
public API endpoints the platform calls, with inspectable state; its webhooks signed with an
RSA key pair of its own, whose public half it serves as Kick does."""

import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlencode

import msgspec
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr

from app.settings import Settings
from tests.fakes.delivery import Delivery, post
from tests.fakes.kick import objects
from tests.fakes.kick.objects import JsonObject
from tests.fakes.kick.signing import new_key, public_pem, signed_delivery
from tests.fakes.oauth import TOKEN_LIFETIME_SECONDS, GrantRefused, OAuthStore, Token
from tests.fakes.platform import FakePlatformServer

DEFAULT_CLIENT_ID: Final = "01KICKFAKECLIENTID0000000000"
DEFAULT_CLIENT_SECRET: Final = "fake-kick-client-secret-0123456789abcdef"

_Answer = tuple[int, JsonObject | None]


class ApiRefused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class FakeKick(FakePlatformServer):
    """A fake Kick for one app, serving both id.kick.com (``/oauth/...``) and the public API
    (``/public/...``) on one loopback port.

    Sign-in: ``GET /oauth/authorize?...&fake_user_id=`` redirects with the code Kick's would
    carry; the token exchange checks the client secret, the redirect URI and the PKCE verifier
    (a code without a challenge is refused: OAuth 2.1). Refreshes rotate the refresh token.
    ``deliver`` sends an event to the app's webhook URL (``webhook_url``, set in Kick's
    developer settings) when a subscription asks for it, signed with ``key``."""

    def __init__(
        self,
        *,
        key: rsa.RSAPrivateKey | None = None,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
    ) -> None:
        super().__init__(OAuthStore(client_id, client_secret, pkce_required=True))
        self.key = key or new_key()
        self.users: dict[str, JsonObject] = {}
        #: Broadcasters live now, with their stream's start.
        self.live: dict[str, datetime] = {}
        self.subscriptions: dict[str, JsonObject] = {}
        self.chat_messages: list[JsonObject] = []
        #: Every request: (method, path, the token it carried or None).
        self.requests: list[tuple[str, str, str | None]] = []
        self.webhook_url = ""

    def settings(self, database_url: str, redis_url: str, **more: Any) -> Settings:
        """The platform's settings pointed at this fake (its key configured), and ``more``."""
        return Settings(
            database_url=database_url,
            redis_url=redis_url,
            kick_client_id=self.client_id,
            kick_client_secret=SecretStr(self.client_secret),
            kick_id_base=self.url,
            kick_api_base=self.url,
            kick_public_key=self.public_key,
            **more,
        )

    @property
    def public_key(self) -> str:
        """The PEM of the key deliveries are signed with (``GET /public/v1/public-key``)."""
        return public_pem(self.key)

    # --- lifecycle ------------------------------------------------------------------------------

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/oauth/authorize", self._authorize)
        app.router.add_post("/oauth/token", self._token)
        app.router.add_post("/oauth/revoke", self._revoke)
        app.router.add_route("*", "/public/{path:.*}", self._api)

    # --- state set up by tests ------------------------------------------------------------------

    def add_user(self, user_id: str, name: str) -> JsonObject:
        self.users[user_id] = {
            "user_id": int(user_id),
            "name": name,
            "email": f"{name.lower()}@example.com",
            "profile_picture": "",
        }
        return self.users[user_id]

    def go_live(self, broadcaster_id: str, started_at: datetime | None = None) -> datetime:
        """The broadcaster starts streaming (what ``/public/v2/livestreams`` says)."""
        self.live[broadcaster_id] = started_at or datetime.now(UTC).replace(microsecond=0)
        return self.live[broadcaster_id]

    def go_offline(self, broadcaster_id: str) -> None:
        self.live.pop(broadcaster_id, None)

    # --- webhooks -------------------------------------------------------------------------------

    def delivery(
        self,
        event_type: str,
        event: JsonObject,
        *,
        key: rsa.RSAPrivateKey | None = None,
        message_id: str | None = None,
        sent_at: datetime | None = None,
    ) -> Delivery:
        """``event`` signed (with Kick's key, or ``key``) as Kick delivers it."""
        return signed_delivery(
            event_type, event, key or self.key, message_id=message_id, sent_at=sent_at
        )

    def subscribed(self, broadcaster_id: str, event_type: str) -> JsonObject | None:
        return next(
            (
                subscription
                for subscription in self.subscriptions.values()
                if subscription["broadcaster_user_id"] == int(broadcaster_id)
                and subscription["event"] == event_type
            ),
            None,
        )

    async def deliver(self, broadcaster_id: str, event_type: str, event: JsonObject) -> int | None:
        """Send ``event`` to the webhook URL if the app subscribed to it for the broadcaster, as
        Kick does; the webhook's status, None when nothing was sent."""
        subscription = self.subscribed(broadcaster_id, event_type)
        if subscription is None or not self.webhook_url:
            return None
        delivery = signed_delivery(event_type, event, self.key, subscription_id=subscription["id"])
        return (await post(self.webhook_url, delivery)).status_code

    # --- OAuth ----------------------------------------------------------------------------------

    async def _authorize(self, request: web.Request) -> web.Response:
        query = request.query
        user_id = query.get("fake_user_id")
        if query.get("client_id") != self.client_id or query.get("response_type") != "code":
            return _error(400, "invalid client or response type")
        if not query.get("state") or query.get("code_challenge_method") != "S256":
            return _error(400, "state and an S256 code challenge are required")
        if user_id is None or user_id not in self.users:
            return _error(400, "fake sign-in needs fake_user_id of a known user")
        code = self.oauth.authorize(
            user_id,
            redirect_uri=query["redirect_uri"],
            scopes=query.get("scope", "").split(),
            code_challenge=query.get("code_challenge"),
            code_challenge_method=query.get("code_challenge_method"),
        )
        back = {"code": code, "state": query["state"]}
        raise web.HTTPFound(f"{query['redirect_uri']}?{urlencode(back)}")

    async def _token(self, request: web.Request) -> web.Response:
        form = {key: str(value) for key, value in (await request.post()).items()}
        self.requests.append(("POST", "/oauth/token", None))
        try:
            token, app = self.oauth.grant(form)
        except GrantRefused as refused:
            return _error(refused.status, refused.message)
        body: JsonObject = {
            "access_token": token.access_token,
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME_SECONDS,
            "scope": " ".join(token.scopes),
        }
        if not app:
            body["refresh_token"] = token.refresh_token
        return web.json_response(body)

    async def _revoke(self, request: web.Request) -> web.Response:
        form = await request.post()
        token = self.oauth.tokens.get(str(form.get("token", "")))
        if token is None:
            return _error(400, "invalid token")
        self.oauth.revoke(token.access_token)
        return web.Response(status=200)

    # --- the public API -------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        authorization = request.headers.get("Authorization", "")
        self.requests.append(
            (request.method, f"/public/{path}", authorization.partition(" ")[2] or None)
        )
        if (request.method, path) == ("GET", "v1/public-key"):
            return web.json_response({"data": {"public_key": self.public_key}, "message": "OK"})
        token = self.oauth.bearer(authorization)
        if token is None:
            return _error(401, "Unauthorized")
        handler = _ROUTES.get((request.method, path))
        if handler is None:
            return _error(404, "Not Found")
        body: JsonObject = {}
        if request.can_read_body:
            try:
                body = msgspec.json.decode(await request.read())
            except msgspec.DecodeError:
                return _error(400, "Malformed JSON")
        try:
            status, payload = handler(self, token, request, body)
        except ApiRefused as refused:
            return _error(refused.status, refused.message)
        if payload is None:
            return web.Response(status=status)
        return web.json_response(payload | {"message": "OK"}, status=status)

    def _users(self, token: Token, request: web.Request, _body: JsonObject) -> _Answer:
        ids = request.query.getall("id", [])
        if not ids:
            if token.user_id is None:
                raise ApiRefused(400, "an app token names the users it wants")
            if "user:read" not in token.scopes:
                raise ApiRefused(403, "missing scope user:read")
            ids = [token.user_id]
        return 200, {"data": [self.users[i] for i in ids if i in self.users]}

    def _channels(self, _token: Token, request: web.Request, _body: JsonObject) -> _Answer:
        ids = request.query.getall("broadcaster_user_id", [])
        return 200, {
            "data": [
                {
                    "broadcaster_user_id": int(user_id),
                    "slug": self.users[user_id]["name"].lower(),
                    "stream_title": "",
                }
                for user_id in ids
                if user_id in self.users
            ]
        }

    def _livestreams(self, _token: Token, request: web.Request, _body: JsonObject) -> _Answer:
        ids = request.query.getall("broadcaster_user_id", []) or list(self.live)
        return 200, {
            "data": [
                {
                    "broadcaster_user_id": int(user_id),
                    "channel_id": int(user_id),
                    "slug": self.users[user_id]["name"].lower() if user_id in self.users else "",
                    "stream_title": "Live now",
                    "started_at": objects.rfc3339(self.live[user_id]),
                    "viewer_count": 1,
                }
                for user_id in ids
                if user_id in self.live
            ]
        }

    def _list_subscriptions(
        self, token: Token, _request: web.Request, _body: JsonObject
    ) -> _Answer:
        return 200, {
            "data": [
                subscription
                for subscription in self.subscriptions.values()
                if token.user_id is None
                or subscription["broadcaster_user_id"] == int(token.user_id)
            ]
        }

    def _create_subscriptions(
        self, token: Token, _request: web.Request, body: JsonObject
    ) -> _Answer:
        if body.get("method") != "webhook":
            raise ApiRefused(400, "method must be webhook")
        if token.user_id is None:
            broadcaster = body.get("broadcaster_user_id")
            if not isinstance(broadcaster, int):
                raise ApiRefused(400, "an app token names the broadcaster_user_id")
        else:
            if "events:subscribe" not in token.scopes:
                raise ApiRefused(403, "missing scope events:subscribe")
            broadcaster = int(token.user_id)
        created = []
        for event in body.get("events") or []:
            name, version = event.get("name"), event.get("version")
            existing = self.subscribed(str(broadcaster), str(name))
            if existing is not None:
                created.append(
                    {"name": name, "version": version, "subscription_id": existing["id"]}
                )
                continue
            subscription = {
                "id": objects.ulid(),
                "app_id": self.client_id,
                "broadcaster_user_id": broadcaster,
                "event": name,
                "version": version,
                "method": "webhook",
                "created_at": objects.rfc3339(),
                "updated_at": objects.rfc3339(),
            }
            self.subscriptions[subscription["id"]] = subscription
            created.append(
                {"name": name, "version": version, "subscription_id": subscription["id"]}
            )
        return 200, {"data": created}

    def _delete_subscriptions(
        self, _token: Token, request: web.Request, _body: JsonObject
    ) -> _Answer:
        ids = request.query.getall("id", [])
        if not any(self.subscriptions.pop(subscription_id, None) for subscription_id in ids):
            raise ApiRefused(404, "subscription not found")
        return 204, None

    def _chat(self, token: Token, _request: web.Request, body: JsonObject) -> _Answer:
        if token.user_id is None or "chat:write" not in token.scopes:
            raise ApiRefused(401, "a user token with chat:write sends chat")
        content = body.get("content", "")
        if not isinstance(content, str) or not 1 <= len(content) <= 500:
            raise ApiRefused(400, "content must be 1 to 500 characters long")
        if body.get("type") != "user" or not isinstance(body.get("broadcaster_user_id"), int):
            raise ApiRefused(400, "a user's message names the broadcaster_user_id")
        message_id = secrets.token_hex(16)
        self.chat_messages.append(
            body | {"sender_user_id": token.user_id, "message_id": message_id}
        )
        return 200, {"data": {"is_sent": True, "message_id": message_id}}


_ROUTES: Final[dict[tuple[str, str], Callable[..., _Answer]]] = {
    ("GET", "v1/users"): FakeKick._users,
    ("GET", "v1/channels"): FakeKick._channels,
    ("GET", "v2/livestreams"): FakeKick._livestreams,
    ("GET", "v1/events/subscriptions"): FakeKick._list_subscriptions,
    ("POST", "v1/events/subscriptions"): FakeKick._create_subscriptions,
    ("DELETE", "v1/events/subscriptions"): FakeKick._delete_subscriptions,
    ("POST", "v1/chat"): FakeKick._chat,
}


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"data": {}, "message": message}, status=status)
