"""Kick OAuth 2.1 (id.kick.com): the authorization code flow with ``state`` and PKCE (S256)
required, refreshes that hand out a new refresh token every time, revocation and app tokens
(client credentials), on the shared OAuth client (``integrations.oauth``)."""

from typing import Final

from integrations.oauth import OAuthClient

DEFAULT_ID_BASE_URL: Final = "https://id.kick.com"


class KickOAuth(OAuthClient):
    """The app's Kick OAuth client (one per client id). Every call is form-encoded."""

    platform = "Kick"
    authorize_path = "/oauth/authorize"
    token_path = "/oauth/token"  # noqa: S105 (a path)
    revoke_path = "/oauth/revoke"
    default_base_url = DEFAULT_ID_BASE_URL

    def revoke_form(self, access_token: str) -> dict[str, str]:
        return {"token": access_token, "token_hint_type": "access_token"}
