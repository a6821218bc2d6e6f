"""What the fake platforms' identity hosts share: tokens and codes, the authorization code grant
with its PKCE check, refreshes that rotate the refresh token, client credentials, revocation."""

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

JsonObject = dict[str, Any]

TOKEN_LIFETIME_SECONDS = 14_400


@dataclass
class Token:
    access_token: str
    client_id: str
    user_id: str | None
    scopes: list[str]
    expires_at: float
    refresh_token: str | None = None
    revoked: bool = False

    @property
    def usable(self) -> bool:
        return not self.revoked and self.expires_at > time.time()


@dataclass
class Code:
    client_id: str
    user_id: str
    redirect_uri: str
    scopes: list[str]
    code_challenge: str | None
    code_challenge_method: str | None


class GrantRefused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class OAuthStore:
    """One app's tokens at a fake identity host."""

    client_id: str
    client_secret: str
    #: Whether a code must carry a PKCE challenge (Kick: OAuth 2.1).
    pkce_required: bool = False
    tokens: dict[str, Token] = field(default_factory=dict)
    codes: dict[str, Code] = field(default_factory=dict)
    refresh_tokens: dict[str, str] = field(default_factory=dict)

    def issue(self, user_id: str | None, scopes: list[str] | None = None) -> Token:
        """A token straight from the store: a user token (with a refresh token) or, for
        ``user_id=None``, an app token."""
        token = Token(
            access_token=secrets.token_hex(15),
            client_id=self.client_id,
            user_id=user_id,
            scopes=list(scopes or []),
            expires_at=time.time() + TOKEN_LIFETIME_SECONDS,
            refresh_token=secrets.token_hex(25) if user_id is not None else None,
        )
        self.tokens[token.access_token] = token
        if token.refresh_token is not None:
            self.refresh_tokens[token.refresh_token] = token.access_token
        return token

    def authorize(
        self,
        user_id: str,
        *,
        redirect_uri: str,
        scopes: list[str],
        code_challenge: str | None = None,
        code_challenge_method: str | None = None,
        client_id: str | None = None,
    ) -> str:
        """The code the platform sends back once ``user_id`` approved the app."""
        code = secrets.token_hex(15)
        self.codes[code] = Code(
            client_id or self.client_id,
            user_id,
            redirect_uri,
            scopes,
            code_challenge,
            code_challenge_method,
        )
        return code

    def revoke(self, access_token: str, *, with_refresh_token: bool = True) -> None:
        """The user disconnects the app: the token (and its refresh token) stop working."""
        token = self.tokens[access_token]
        token.revoked = True
        if with_refresh_token and token.refresh_token is not None:
            self.refresh_tokens.pop(token.refresh_token, None)

    def bearer(self, authorization: str) -> Token | None:
        """The usable token of an ``Authorization: Bearer`` header."""
        scheme, _, access = authorization.partition(" ")
        token = self.tokens.get(access) if scheme.lower() == "bearer" else None
        return token if token is not None and token.usable else None

    def grant(self, form: dict[str, str]) -> tuple[Token, bool]:
        """The token a token-endpoint request earns, and whether it is an app token; raises
        ``GrantRefused`` as the platform would answer."""
        if form.get("client_id") != self.client_id:
            raise GrantRefused(400, "invalid client")
        if form.get("client_secret") != self.client_secret:
            raise GrantRefused(403, "invalid client secret")
        grant = form.get("grant_type")
        if grant == "client_credentials":
            return self.issue(None), True
        if grant == "authorization_code":
            code = self.codes.pop(form.get("code", ""), None)
            if code is None or code.client_id != self.client_id:
                raise GrantRefused(400, "Invalid authorization code")
            if form.get("redirect_uri") != code.redirect_uri:
                raise GrantRefused(400, "Parameter redirect_uri does not match registered URI")
            if code.code_challenge is None and self.pkce_required:
                raise GrantRefused(400, "PKCE is required")
            if code.code_challenge is not None and not pkce_matches(
                code, form.get("code_verifier", "")
            ):
                raise GrantRefused(400, "Invalid code verifier")
            return self.issue(code.user_id, code.scopes), False
        if grant == "refresh_token":
            access = self.refresh_tokens.pop(form.get("refresh_token", ""), None)
            if access is None:
                raise GrantRefused(400, "Invalid refresh token")
            old = self.tokens[access]
            old.revoked = True
            return self.issue(old.user_id, old.scopes), False
        raise GrantRefused(400, "unsupported grant type")


def pkce_matches(code: Code, verifier: str) -> bool:
    if code.code_challenge_method == "S256":
        digest = hashlib.sha256(verifier.encode()).digest()
        expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    else:
        expected = verifier
    return secrets.compare_digest(expected, code.code_challenge or "")
