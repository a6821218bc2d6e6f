"""Twitch OAuth (id.twitch.tv): sign-in with PKCE, token refresh, validation, revocation and the
app access token, on the shared OAuth client (``integrations.oauth``).

httpx rather than twitchio 3.3's ``OAuth``: its code exchange cannot send a PKCE
``code_verifier``, its base URL is a process-wide class attribute (``Route.ID_BASE``), and its
errors drop the response."""

from typing import Final

import msgspec

from integrations.oauth import (
    AppToken,
    AuthorizationRequest,
    OAuthClient,
    TokenSet,
    pkce_challenge,
    pkce_pair,
)

DEFAULT_ID_BASE_URL: Final = "https://id.twitch.tv"

__all__ = [
    "DEFAULT_ID_BASE_URL",
    "AppToken",
    "AuthorizationRequest",
    "TokenInfo",
    "TokenSet",
    "TwitchOAuth",
    "pkce_challenge",
    "pkce_pair",
]


class TokenInfo(msgspec.Struct, frozen=True, kw_only=True):
    """What ``/oauth2/validate`` says of a token; ``user_id`` and ``login`` are None for an app
    token."""

    client_id: str
    user_id: str | None
    login: str | None
    scopes: tuple[str, ...]
    expires_in: int


class TwitchOAuth(OAuthClient):
    """The app's Twitch OAuth client (one per client id)."""

    platform = "Twitch"
    authorize_path = "/oauth2/authorize"
    token_path = "/oauth2/token"  # noqa: S105 (a path)
    revoke_path = "/oauth2/revoke"
    default_base_url = DEFAULT_ID_BASE_URL

    def authorize_extras(self, *, force_verify: bool) -> dict[str, str]:
        return {"force_verify": "true" if force_verify else "false"}

    async def validate(self, access_token: str) -> TokenInfo:
        """Who a token belongs to and what it may do; ``Unauthorized`` when it is not valid."""
        response = await self._send(
            self._http.build_request(
                "GET", "/oauth2/validate", headers={"Authorization": f"OAuth {access_token}"}
            )
        )
        info = self.decode(response, _Validation)
        return TokenInfo(
            client_id=info.client_id,
            user_id=info.user_id,
            login=info.login,
            scopes=tuple(info.scopes or ()),
            expires_in=info.expires_in,
        )


class _Validation(msgspec.Struct):
    client_id: str
    expires_in: int
    user_id: str | None = None
    login: str | None = None
    scopes: list[str] | None = None
