"""The OAuth 2 client every stream platform's sign-in shares: the authorization code flow with
``state`` and PKCE (S256), token refresh, revocation and app tokens (client credentials).

Each platform names its paths and its extra authorize parameters (``TwitchOAuth``,
``KickOAuth``); the calls are form POSTs, and tokens are stored, encrypted and refreshed by the
app, never held here."""

import base64
import hashlib
import secrets
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import ClassVar, TypeVar

import httpx
import msgspec

from integrations.errors import (
    ApiError,
    ApiUnavailable,
    RequestFailed,
    TokenRevoked,
    request_failed,
)
from integrations.tls import client_context


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


class OAuthClient:
    """One app's OAuth client (one per client id) on a platform's identity host."""

    #: The platform's name in errors ("Twitch", "Kick").
    platform: ClassVar[str]
    authorize_path: ClassVar[str]
    token_path: ClassVar[str]
    revoke_path: ClassVar[str]
    #: The platform's identity host.
    default_base_url: ClassVar[str]

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        base_url: str | None = None,
        timeout_seconds: float = 10,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not client_id or not client_secret:
            raise ValueError(f"{self.platform} sign-in needs a client id and a client secret")
        self.client_id = client_id
        self._client_secret = client_secret
        self._base_url = (base_url or self.default_base_url).rstrip("/")
        self._http = httpx.AsyncClient(
            base_url=self._base_url,
            timeout=timeout_seconds,
            transport=transport,
            verify=client_context(),
        )

    def authorize_url(
        self,
        *,
        redirect_uri: str,
        scopes: Iterable[str],
        state: str | None = None,
        force_verify: bool = False,
    ) -> AuthorizationRequest:
        """The authorization code flow's first step, with a fresh ``state`` and PKCE (S256).
        ``force_verify`` asks the platform to show its consent page again, where it can."""
        verifier, challenge = pkce_pair()
        state = state or secrets.token_urlsafe(32)
        query = urllib.parse.urlencode(
            {
                "client_id": self.client_id,
                "redirect_uri": redirect_uri,
                "response_type": "code",
                "scope": " ".join(scopes),
                "state": state,
                **self.authorize_extras(force_verify=force_verify),
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            },
            quote_via=urllib.parse.quote,
        )
        return AuthorizationRequest(
            url=f"{self._base_url}{self.authorize_path}?{query}",
            state=state,
            code_verifier=verifier,
        )

    def authorize_extras(self, *, force_verify: bool) -> dict[str, str]:
        """The platform's own authorize parameters."""
        return {}

    async def exchange_code(self, code: str, *, redirect_uri: str, code_verifier: str) -> TokenSet:
        """The user's tokens for the ``code`` their redirect brought back."""
        response = await self._post(
            self.token_path,
            {
                "client_id": self.client_id,
                "client_secret": self._client_secret,
                "code": code,
                "grant_type": "authorization_code",
                "redirect_uri": redirect_uri,
                "code_verifier": code_verifier,
            },
        )
        return self._token_set(response)

    async def refresh(self, refresh_token: str) -> TokenSet:
        """New tokens for a refresh token; store both, as the refresh token may change (it
        always does on Kick).

        ``TokenRevoked`` when the platform refuses the refresh token (the user disconnected
        the app, or it was already used): the link needs the user again."""
        return self._token_set(await self._refresh_grant(refresh_token))

    async def _refresh_grant(self, refresh_token: str) -> httpx.Response:
        """The token endpoint's answer to a refresh token; ``TokenRevoked`` when refused."""
        try:
            return await self._post(
                self.token_path,
                {
                    "client_id": self.client_id,
                    "client_secret": self._client_secret,
                    "grant_type": "refresh_token",
                    "refresh_token": refresh_token,
                },
            )
        except RequestFailed as exc:
            if exc.status in (400, 401):
                raise TokenRevoked(exc.message, status=exc.status, error=exc.error) from exc
            raise

    async def revoke(self, access_token: str) -> None:
        """Revoke a token (on unlink). A token the platform no longer knows counts as revoked."""
        try:
            await self._post(self.revoke_path, self.revoke_form(access_token))
        except RequestFailed as exc:
            if exc.status != 400:
                raise

    def revoke_form(self, access_token: str) -> dict[str, str]:
        return {"client_id": self.client_id, "token": access_token}

    async def app_access_token(self) -> AppToken:
        """An app access token (client credentials), for the app's own calls (subscriptions)."""
        response = await self._post(
            self.token_path,
            {
                "client_id": self.client_id,
                "client_secret": self._client_secret,
                "grant_type": "client_credentials",
            },
        )
        return self.decode(response, AppToken)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _post(self, path: str, form: Mapping[str, str]) -> httpx.Response:
        return await self._send(self._http.build_request("POST", path, data=dict(form)))

    async def _send(self, request: httpx.Request) -> httpx.Response:
        try:
            response = await self._http.send(request)
        except httpx.HTTPError as exc:
            raise ApiUnavailable(
                f"{self.platform} OAuth unreachable: {type(exc).__name__}"
            ) from exc
        if response.status_code >= 500:
            raise ApiUnavailable(f"{self.platform} OAuth failed with {response.status_code}")
        if response.status_code >= 400:
            raise request_failed(response)
        return response

    def _token_set(self, response: httpx.Response) -> TokenSet:
        tokens = self.decode(response, _TokenResponse)
        scope = tokens.scope
        return TokenSet(
            access_token=tokens.access_token,
            refresh_token=tokens.refresh_token,
            expires_in=tokens.expires_in,
            # Twitch lists the scopes; Kick (as RFC 6749) joins them with spaces.
            scopes=tuple(scope.split() if isinstance(scope, str) else scope or ()),
        )

    def decode(self, response: httpx.Response, type_: type["_T"]) -> "_T":
        try:
            return msgspec.json.decode(response.content, type=type_)
        except (msgspec.DecodeError, RecursionError) as exc:
            raise ApiError(f"unexpected answer from {self.platform} OAuth: {exc}") from exc


class _TokenResponse(msgspec.Struct):
    access_token: str
    refresh_token: str
    expires_in: int
    scope: list[str] | str | None = None


_T = TypeVar("_T")
