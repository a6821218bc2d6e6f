"""The fake Google (OAuth on one loopback port: the consent page, the token endpoint) and the
YouTube Data API v3 under ``/youtube/v3``, with inspectable state.

Sign-in: ``GET /o/oauth2/v2/auth?...&fake_user_id=`` redirects with a code; the exchange checks
the client secret, the redirect URI and the PKCE verifier, and hands out a refresh token only
for ``access_type=offline`` (as Google does). A refresh keeps the refresh token. Every API call
costs its units (``units``); past ``quota`` units, or with ``quota_exceeded`` set, Google's 403
``quotaExceeded``."""

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlencode

import msgspec
from aiohttp import web

from tests.fakes.oauth import TOKEN_LIFETIME_SECONDS, GrantRefused, OAuthStore, Token
from tests.fakes.platform import FakePlatformServer

DEFAULT_CLIENT_ID: Final = "123456789012-fake.apps.googleusercontent.com"
DEFAULT_CLIENT_SECRET: Final = "GOCSPX-fake-google-client-secret"
FORCE_SSL: Final = "https://www.googleapis.com/auth/youtube.force-ssl"
COSTS: Final = {
    ("GET", "channels"): 1,
    ("GET", "liveBroadcasts"): 5,
    ("GET", "liveChat/messages"): 5,
    ("POST", "liveChat/messages"): 20,
}

JsonObject = dict[str, Any]


def rfc3339(at: datetime | None = None) -> str:
    return (at or datetime.now(UTC)).isoformat().replace("+00:00", "Z")


@dataclass
class Chat:
    """One broadcast's live chat: every message in order; pages are positions in it."""

    live_chat_id: str
    owner: str
    messages: list[JsonObject] = field(default_factory=list)
    offline_at: datetime | None = None
    polling_interval_millis: int = 2000


class FakeYouTube(FakePlatformServer):
    def __init__(
        self, *, client_id: str = DEFAULT_CLIENT_ID, client_secret: str = DEFAULT_CLIENT_SECRET
    ) -> None:
        super().__init__(OAuthStore(client_id, client_secret))
        #: Google account id → its YouTube channel (None: an account without a channel).
        self.accounts: dict[str, JsonObject | None] = {}
        #: Channel id → its active broadcast.
        self.broadcasts: dict[str, JsonObject] = {}
        self.chats: dict[str, Chat] = {}
        #: Units spent, and the project's daily quota.
        self.units = 0
        self.quota = 10_000
        self.quota_exceeded = False
        #: Every API request: (method, path, query).
        self.requests: list[tuple[str, str, dict[str, str]]] = []

    @property
    def api_url(self) -> str:
        return f"{self.url}/youtube/v3"

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/o/oauth2/v2/auth", self._authorize)
        app.router.add_post("/token", self._token)
        app.router.add_post("/revoke", self._revoke)
        app.router.add_route("*", "/youtube/v3/{path:.*}", self._api)
        # The fake's own controls, for `make youtube-live` and `make youtube-say`.
        app.router.add_post("/fake/live", self._control_live)
        app.router.add_post("/fake/say", self._control_say)

    # --- state set up by tests ------------------------------------------------------------------

    def add_user(self, user_id: str, name: str, *, channel: bool = True) -> JsonObject | None:
        """A Google account; with ``channel``, its YouTube channel has the same id."""
        self.accounts[user_id] = (
            {"id": user_id, "snippet": {"title": name, "customUrl": f"@{name.lower()}"}}
            if channel
            else None
        )
        return self.accounts[user_id]

    def go_live(self, channel_id: str, *, status: str = "live", interval_ms: int = 2000) -> Chat:
        """The channel's broadcast is active, with a live chat."""
        broadcast_id = f"bc{secrets.token_hex(5)}"
        chat = Chat(f"chat{secrets.token_hex(6)}", channel_id, polling_interval_millis=interval_ms)
        self.chats[chat.live_chat_id] = chat
        self.broadcasts[channel_id] = {
            "kind": "youtube#liveBroadcast",
            "id": broadcast_id,
            "snippet": {
                "title": "Live now",
                "liveChatId": chat.live_chat_id,
                "actualStartTime": rfc3339(),
                "channelId": channel_id,
            },
            "status": {"lifeCycleStatus": status, "privacyStatus": "public"},
        }
        return chat

    def go_offline(self, channel_id: str) -> None:
        broadcast = self.broadcasts.pop(channel_id, None)
        if broadcast is not None:
            self.chats[broadcast["snippet"]["liveChatId"]].offline_at = datetime.now(UTC)

    def say(self, chat: Chat, author: str, name: str, text: str, **details: bool) -> JsonObject:
        """A viewer (channel ``author``) writes in the chat."""
        message = {
            "kind": "youtube#liveChatMessage",
            "id": f"LCC.{secrets.token_urlsafe(12)}",
            "snippet": {
                "type": "textMessageEvent",
                "liveChatId": chat.live_chat_id,
                "authorChannelId": author,
                "publishedAt": rfc3339(),
                "hasDisplayContent": True,
                "displayMessage": text,
                "textMessageDetails": {"messageText": text},
            },
            "authorDetails": {
                "channelId": author,
                "displayName": name,
                "isVerified": False,
                "isChatOwner": details.get("owner", author == chat.owner),
                "isChatSponsor": details.get("sponsor", False),
                "isChatModerator": details.get("moderator", False),
            },
        }
        chat.messages.append(message)
        return message

    def inserted(self, chat: Chat, bot: str | None = None) -> list[str]:
        """What was written in the chat through the API (by ``bot``, or anyone)."""
        return [
            m["snippet"]["displayMessage"]
            for m in chat.messages
            if m.get("inserted") and (bot is None or m["authorDetails"]["channelId"] == bot)
        ]

    def live_chat_of(self, channel_id: str) -> Chat | None:
        broadcast = self.broadcasts.get(channel_id)
        return None if broadcast is None else self.chats[broadcast["snippet"]["liveChatId"]]

    async def _control_live(self, request: web.Request) -> web.Response:
        body = msgspec.json.decode(await request.read())
        channel = str(body.get("channel", ""))
        if channel not in self.accounts:
            return web.json_response({"error": "unknown channel"}, status=404)
        if body.get("offline"):
            self.go_offline(channel)
            return web.json_response({"channel": channel, "live": False})
        chat = self.go_live(channel, interval_ms=int(body.get("interval_ms", 2000)))
        return web.json_response({"channel": channel, "live": True, "chat": chat.live_chat_id})

    async def _control_say(self, request: web.Request) -> web.Response:
        body = msgspec.json.decode(await request.read())
        chat = self.live_chat_of(str(body.get("channel", "")))
        if chat is None:
            return web.json_response({"error": "the channel is not live"}, status=409)
        message = self.say(chat, str(body["author"]), str(body["name"]), str(body["text"]))
        return web.json_response({"id": message["id"], "chat": chat.live_chat_id})

    # --- OAuth ----------------------------------------------------------------------------------

    async def _authorize(self, request: web.Request) -> web.Response:
        query = request.query
        user_id = query.get("fake_user_id")
        if query.get("client_id") != self.client_id or query.get("response_type") != "code":
            return _oauth_error(400, "invalid_request")
        if not query.get("state") or query.get("code_challenge_method") != "S256":
            return _oauth_error(400, "invalid_request")
        if user_id is None or user_id not in self.accounts:
            return _oauth_error(400, "fake sign-in needs fake_user_id of a known account")
        code = self.oauth.authorize(
            user_id,
            redirect_uri=query["redirect_uri"],
            scopes=query.get("scope", "").split(),
            code_challenge=query.get("code_challenge"),
            code_challenge_method=query.get("code_challenge_method"),
        )
        if query.get("access_type") == "offline":
            self.oauth.codes[code].scopes.append("offline")
        back = {"code": code, "state": query["state"], "scope": query.get("scope", "")}
        raise web.HTTPFound(f"{query['redirect_uri']}?{urlencode(back)}")

    async def _token(self, request: web.Request) -> web.Response:
        form = {key: str(value) for key, value in (await request.post()).items()}
        if form.get("grant_type") == "refresh_token":
            # Google keeps the refresh token: a new access token only.
            access = self.oauth.refresh_tokens.get(form.get("refresh_token", ""))
            if form.get("client_secret") != self.client_secret or access is None:
                return _oauth_error(400, "invalid_grant")
            old = self.oauth.tokens[access]
            old.revoked = True
            fresh = self.oauth.issue(old.user_id, old.scopes)
            assert fresh.refresh_token is not None
            self.oauth.refresh_tokens.pop(fresh.refresh_token)
            fresh.refresh_token = old.refresh_token
            self.oauth.refresh_tokens[form["refresh_token"]] = fresh.access_token
            return web.json_response(
                {
                    "access_token": fresh.access_token,
                    "expires_in": TOKEN_LIFETIME_SECONDS,
                    "scope": " ".join(s for s in fresh.scopes if s != "offline"),
                    "token_type": "Bearer",
                }
            )
        try:
            token, _app = self.oauth.grant(form)
        except GrantRefused as refused:
            return _oauth_error(refused.status, "invalid_grant", refused.message)
        body: JsonObject = {
            "access_token": token.access_token,
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME_SECONDS,
            "scope": " ".join(s for s in token.scopes if s != "offline"),
        }
        if "offline" in token.scopes:
            body["refresh_token"] = token.refresh_token
        return web.json_response(body)

    async def _revoke(self, request: web.Request) -> web.Response:
        form = await request.post()
        token = self.oauth.tokens.get(str(form.get("token", "")))
        if token is None:
            return _oauth_error(400, "invalid_token")
        self.oauth.revoke(token.access_token)
        return web.Response(status=200)

    # --- the Data API ---------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        query = dict(request.query)
        self.requests.append((request.method, path, query))
        token = self.oauth.bearer(request.headers.get("Authorization", ""))
        if token is None or token.user_id is None:
            return _api_error(401, "authError", "Invalid Credentials")
        if FORCE_SSL not in token.scopes:
            return _api_error(403, "insufficientPermissions", "Request had insufficient scopes")
        cost = COSTS.get((request.method, path))
        if cost is None:
            return _api_error(404, "notFound", "Not Found")
        if self.quota_exceeded or self.units + cost > self.quota:
            self.quota_exceeded = True
            return _api_error(
                403,
                "quotaExceeded",
                "The request cannot be completed because you have exceeded your quota.",
                domain="youtube.quota",
            )
        self.units += cost
        if (request.method, path) == ("GET", "channels"):
            return self._channels(token, query)
        if path == "liveBroadcasts":
            return self._broadcasts(token, query)
        if request.method == "GET":
            return self._chat_list(query)
        return self._chat_insert(token, msgspec.json.decode(await request.read()))

    def _channels(self, token: Token, query: dict[str, str]) -> web.Response:
        if query.get("mine") != "true":
            return _api_error(400, "invalidFilters", "mine=true only in the fake")
        channel = self.accounts.get(str(token.user_id))
        return web.json_response(
            {"kind": "youtube#channelListResponse", "items": [channel] if channel else []}
        )

    def _broadcasts(self, token: Token, query: dict[str, str]) -> web.Response:
        filters = [key for key in ("broadcastStatus", "id", "mine") if key in query]
        if len(filters) != 1:
            return _api_error(
                400, "incompatibleParameters", "exactly one of broadcastStatus, id, mine"
            )
        if query.get("broadcastStatus") != "active":
            return _api_error(400, "invalidValue", "only broadcastStatus=active in the fake")
        broadcast = self.broadcasts.get(str(token.user_id))
        return web.json_response(
            {"kind": "youtube#liveBroadcastListResponse", "items": [broadcast] if broadcast else []}
        )

    def _chat_list(self, query: dict[str, str]) -> web.Response:
        chat = self.chats.get(query.get("liveChatId", ""))
        if chat is None:
            return _api_error(404, "liveChatNotFound", "The live chat could not be found.")
        page = query.get("pageToken")
        start = 0 if page is None else int(page.removeprefix("p"))
        body: JsonObject = {
            "kind": "youtube#liveChatMessageListResponse",
            "pollingIntervalMillis": chat.polling_interval_millis,
            "pageInfo": {"totalResults": len(chat.messages) - start, "resultsPerPage": 2000},
            "nextPageToken": f"p{len(chat.messages)}",
            "items": chat.messages[start:],
        }
        if chat.offline_at is not None:
            body["offlineAt"] = rfc3339(chat.offline_at)
        return web.json_response(body)

    def _chat_insert(self, token: Token, body: JsonObject) -> web.Response:
        snippet = body.get("snippet") or {}
        chat = self.chats.get(snippet.get("liveChatId", ""))
        if chat is None:
            return _api_error(404, "liveChatNotFound", "The live chat could not be found.")
        if chat.offline_at is not None:
            return _api_error(403, "liveChatEnded", "The live chat is no longer live.")
        text = (snippet.get("textMessageDetails") or {}).get("messageText", "")
        if snippet.get("type") != "textMessageEvent" or not 1 <= len(text) <= 200:
            return _api_error(400, "invalidValue", "messageText must be 1 to 200 characters")
        channel = self.accounts.get(str(token.user_id)) or {"snippet": {"title": "?"}}
        message = self.say(chat, str(token.user_id), channel["snippet"]["title"], text)
        message["inserted"] = True
        return web.json_response({k: v for k, v in message.items() if k != "inserted"})


def _api_error(status: int, reason: str, message: str, *, domain: str = "youtube") -> web.Response:
    return web.json_response(
        {
            "error": {
                "code": status,
                "message": message,
                "errors": [{"message": message, "domain": domain, "reason": reason}],
            }
        },
        status=status,
    )


def _oauth_error(status: int, error: str, description: str = "") -> web.Response:
    return web.json_response(
        {"error": error, "error_description": description or error}, status=status
    )
