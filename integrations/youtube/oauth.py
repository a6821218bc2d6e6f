"""Google OAuth for YouTube: the authorization code flow with ``state`` and PKCE (S256) on
Google's consent page (accounts.google.com), the token endpoint on oauth2.googleapis.com, on the
shared OAuth client (``integrations.oauth``). Google hands out a refresh token only when asked
for offline access with the consent page shown; a refresh returns no new one (the old one
stays), and an app left in "Testing" gets refresh tokens that expire after seven days."""

from collections.abc import Iterable
from typing import Final

import httpx
import msgspec

from integrations.oauth import AuthorizationRequest, OAuthClient, TokenSet

DEFAULT_TOKEN_BASE_URL: Final = "https://oauth2.googleapis.com"  # noqa: S105 (a URL)
DEFAULT_ACCOUNTS_BASE_URL: Final = "https://accounts.google.com"
#: Read and write a YouTube account's chat, broadcasts and channel.
YOUTUBE_FORCE_SSL: Final = "https://www.googleapis.com/auth/youtube.force-ssl"


class GoogleOAuth(OAuthClient):
    """The app's Google OAuth client (one per client id)."""

    platform = "Google"
    authorize_path = "/o/oauth2/v2/auth"
    token_path = "/token"  # noqa: S105 (a path)
    revoke_path = "/revoke"
    default_base_url = DEFAULT_TOKEN_BASE_URL

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        base_url: str | None = None,
        accounts_base_url: str | None = None,
        timeout_seconds: float = 10,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(
            client_id,
            client_secret,
            base_url=base_url,
            timeout_seconds=timeout_seconds,
            transport=transport,
        )
        self._accounts_base = (accounts_base_url or DEFAULT_ACCOUNTS_BASE_URL).rstrip("/")

    def authorize_url(
        self,
        *,
        redirect_uri: str,
        scopes: Iterable[str],
        state: str | None = None,
        force_verify: bool = False,
    ) -> AuthorizationRequest:
        """As the shared client's, on Google's consent host rather than its token host."""
        request = super().authorize_url(
            redirect_uri=redirect_uri, scopes=scopes, state=state, force_verify=force_verify
        )
        path = request.url.removeprefix(self._base_url)
        return msgspec.structs.replace(request, url=f"{self._accounts_base}{path}")

    def authorize_extras(self, *, force_verify: bool) -> dict[str, str]:
        # Offline access and the consent page every time: otherwise Google returns no refresh
        # token to an account that granted the app before.
        return {"access_type": "offline", "prompt": "consent", "include_granted_scopes": "true"}

    def revoke_form(self, access_token: str) -> dict[str, str]:
        return {"token": access_token}

    async def refresh(self, refresh_token: str) -> TokenSet:
        """A new access token; Google keeps the refresh token (none comes back), so the one
        given is returned with it. ``TokenRevoked`` when Google refuses it (revoked, or
        expired after seven days for an app in "Testing")."""
        response = await self._refresh_grant(refresh_token)
        tokens = self.decode(response, _Refreshed)
        return TokenSet(
            access_token=tokens.access_token,
            refresh_token=tokens.refresh_token or refresh_token,
            expires_in=tokens.expires_in,
            scopes=tuple((tokens.scope or "").split()),
        )


class _Refreshed(msgspec.Struct):
    access_token: str
    expires_in: int
    refresh_token: str | None = None
    scope: str | None = None
