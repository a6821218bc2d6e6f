"""Twitch OAuth (id.twitch.tv): sign-in with PKCE, token refresh, validation, revocation and the
app access token.

httpx rather than twitchio 3.3's ``OAuth``: its code exchange cannot send a PKCE
``code_verifier``, its base URL is a process-wide class attribute (``Route.ID_BASE``), and its
errors drop the response. The calls are four form POSTs and a GET; tokens are stored, encrypted
and refreshed by the app, never held here."""

import base64
import hashlib
import secrets
import urllib.parse
from collections.abc import Iterable
from typing import Final, TypeVar

import httpx
import msgspec

from integrations.twitch.errors import (
    TokenRevoked,
    TwitchError,
    TwitchRequestFailed,
    TwitchUnavailable,
    request_failed,
)

DEFAULT_ID_BASE_URL: Final = "https://id.twitch.tv"


class TokenSet(msgspec.Struct, frozen=True, kw_only=True):
    """A user's tokens as the token endpoint returns them (on sign-in and on every refresh)."""

    access_token: str
    refresh_token: str
    expires_in: int
    scopes: tuple[str, ...] = ()


class AppToken(msgspec.Struct, frozen=True, kw_only=True):
    """An app access token (client credentials): no user, no refresh token."""

    access_token: str
    expires_in: int


class TokenInfo(msgspec.Struct, frozen=True, kw_only=True):
    """What ``/oauth2/validate`` says of a token; ``user_id`` and ``login`` are None for an app
    token."""

    client_id: str
    user_id: str | None
    login: str | None
    scopes: tuple[str, ...]
    expires_in: int


class AuthorizationRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Where to send the user, and what to keep (server side) until they come back."""

    url: str
    #: Compare with the ``state`` the redirect brings back (CSRF).
    state: str
    #: Send with the code to ``exchange_code``; never to the browser.
    code_verifier: str


def pkce_pair() -> tuple[str, str]:
    """A PKCE ``code_verifier`` (43 characters of base64url) and its S256 ``code_challenge``."""
    verifier = secrets.token_urlsafe(32)
    return verifier, pkce_challenge(verifier)


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class TwitchOAuth:
    """The app's OAuth client (one per client id)."""

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        base_url: str = DEFAULT_ID_BASE_URL,
        timeout_seconds: float = 10,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not client_id or not client_secret:
            raise ValueError("Twitch sign-in needs a client id and a client secret")
        self.client_id = client_id
        self._client_secret = client_secret
        self._base_url = base_url.rstrip("/")
        self._http = httpx.AsyncClient(
            base_url=self._base_url, timeout=timeout_seconds, transport=transport
        )

    def authorize_url(
        self,
        *,
        redirect_uri: str,
        scopes: Iterable[str],
        state: str | None = None,
        force_verify: bool = False,
    ) -> AuthorizationRequest:
        """The authorization code flow's first step, with a fresh ``state`` and PKCE (S256)."""
        verifier, challenge = pkce_pair()
        state = state or secrets.token_urlsafe(32)
        query = urllib.parse.urlencode(
            {
                "client_id": self.client_id,
                "redirect_uri": redirect_uri,
                "response_type": "code",
                "scope": " ".join(scopes),
                "state": state,
                "force_verify": "true" if force_verify else "false",
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            },
            quote_via=urllib.parse.quote,
        )
        return AuthorizationRequest(
            url=f"{self._base_url}/oauth2/authorize?{query}", state=state, code_verifier=verifier
        )

    async def exchange_code(self, code: str, *, redirect_uri: str, code_verifier: str) -> TokenSet:
        """The user's tokens for the ``code`` their redirect brought back."""
        response = await self._post(
            "/oauth2/token",
            {
                "client_id": self.client_id,
                "client_secret": self._client_secret,
                "code": code,
                "grant_type": "authorization_code",
                "redirect_uri": redirect_uri,
                "code_verifier": code_verifier,
            },
        )
        return _token_set(response)

    async def refresh(self, refresh_token: str) -> TokenSet:
        """New tokens for a refresh token; store both, as the refresh token may change.

        ``TokenRevoked`` when Twitch refuses the refresh token (the user disconnected the app,
        changed their password, or it was already used): the link needs the user again."""
        try:
            response = await self._post(
                "/oauth2/token",
                {
                    "client_id": self.client_id,
                    "client_secret": self._client_secret,
                    "grant_type": "refresh_token",
                    "refresh_token": refresh_token,
                },
            )
        except TwitchRequestFailed as exc:
            if exc.status in (400, 401):
                raise TokenRevoked(exc.message, status=exc.status, error=exc.error) from exc
            raise
        return _token_set(response)

    async def validate(self, access_token: str) -> TokenInfo:
        """Who a token belongs to and what it may do; ``Unauthorized`` when it is not valid."""
        response = await self._send(
            self._http.build_request(
                "GET", "/oauth2/validate", headers={"Authorization": f"OAuth {access_token}"}
            )
        )
        info = _decode(response, _Validation)
        return TokenInfo(
            client_id=info.client_id,
            user_id=info.user_id,
            login=info.login,
            scopes=tuple(info.scopes or ()),
            expires_in=info.expires_in,
        )

    async def revoke(self, access_token: str) -> None:
        """Revoke a token (on unlink). A token Twitch no longer knows counts as revoked."""
        try:
            await self._post("/oauth2/revoke", {"client_id": self.client_id, "token": access_token})
        except TwitchRequestFailed as exc:
            if exc.status != 400:
                raise

    async def app_access_token(self) -> AppToken:
        """An app access token (client credentials), for creating webhook subscriptions."""
        response = await self._post(
            "/oauth2/token",
            {
                "client_id": self.client_id,
                "client_secret": self._client_secret,
                "grant_type": "client_credentials",
            },
        )
        return _decode(response, AppToken)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _post(self, path: str, form: dict[str, str]) -> httpx.Response:
        return await self._send(self._http.build_request("POST", path, data=form))

    async def _send(self, request: httpx.Request) -> httpx.Response:
        try:
            response = await self._http.send(request)
        except httpx.HTTPError as exc:
            raise TwitchUnavailable(f"Twitch OAuth unreachable: {type(exc).__name__}") from exc
        if response.status_code >= 500:
            raise TwitchUnavailable(f"Twitch OAuth failed with {response.status_code}")
        if response.status_code >= 400:
            raise request_failed(response)
        return response


class _TokenResponse(msgspec.Struct):
    access_token: str
    refresh_token: str
    expires_in: int
    scope: list[str] | None = None


class _Validation(msgspec.Struct):
    client_id: str
    expires_in: int
    user_id: str | None = None
    login: str | None = None
    scopes: list[str] | None = None


def _token_set(response: httpx.Response) -> TokenSet:
    tokens = _decode(response, _TokenResponse)
    return TokenSet(
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_in=tokens.expires_in,
        scopes=tuple(tokens.scope or ()),
    )


_T = TypeVar("_T")


def _decode(response: httpx.Response, type_: type[_T]) -> _T:
    try:
        return msgspec.json.decode(response.content, type=type_)
    except (msgspec.DecodeError, RecursionError) as exc:
        raise TwitchError(f"unexpected answer from Twitch OAuth: {exc}") from exc
