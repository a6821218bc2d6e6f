"""Twitch sign-in and tokens against the fake id.twitch.tv."""

import base64
import hashlib
import string
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from integrations.twitch.errors import TokenRevoked, TwitchRequestFailed, Unauthorized
from integrations.twitch.oauth import TwitchOAuth, pkce_challenge, pkce_pair
from tests.fakes.twitch import FakeTwitch

REDIRECT_URI = "http://127.0.0.1:8000/auth/twitch/callback"
SCOPES = ["user:read:chat", "channel:manage:predictions"]


async def sign_in(
    fake: FakeTwitch, oauth: TwitchOAuth, *, user_id: str = "1337"
) -> tuple[str, str]:
    """Follow the authorize URL as the user's browser would; the code and the verifier."""
    fake.add_user(user_id, "ada")
    request = oauth.authorize_url(redirect_uri=REDIRECT_URI, scopes=SCOPES)
    async with httpx.AsyncClient() as browser:
        response = await browser.get(f"{request.url}&fake_user_id={user_id}")
    assert response.status_code == 302
    back = parse_qs(urlsplit(response.headers["Location"]).query)
    assert back["state"] == [request.state]
    return back["code"][0], request.code_verifier


def test_the_authorize_url_carries_state_and_an_s256_challenge() -> None:
    oauth = TwitchOAuth("client", "secret", base_url="https://id.twitch.tv")
    request = oauth.authorize_url(redirect_uri=REDIRECT_URI, scopes=SCOPES)
    url = urlsplit(request.url)
    query = {key: values[0] for key, values in parse_qs(url.query).items()}

    assert (url.scheme, url.netloc, url.path) == ("https", "id.twitch.tv", "/oauth2/authorize")
    assert query["client_id"] == "client"
    assert query["response_type"] == "code"
    assert query["redirect_uri"] == REDIRECT_URI
    assert query["scope"] == "user:read:chat channel:manage:predictions"
    assert query["state"] == request.state
    assert query["code_challenge_method"] == "S256"
    assert query["code_challenge"] == pkce_challenge(request.code_verifier)
    assert 43 <= len(request.code_verifier) <= 128
    assert request.state != oauth.authorize_url(redirect_uri=REDIRECT_URI, scopes=SCOPES).state


def test_the_pkce_challenge_is_the_unpadded_base64url_sha256_of_the_verifier() -> None:
    verifier, challenge = pkce_pair()
    expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")

    assert challenge == expected.decode()
    assert set(verifier) <= set(string.ascii_letters + string.digits + "-._~")


async def test_a_code_and_its_verifier_give_the_users_tokens(
    fake_twitch: FakeTwitch, twitch_oauth: TwitchOAuth
) -> None:
    code, verifier = await sign_in(fake_twitch, twitch_oauth)

    tokens = await twitch_oauth.exchange_code(
        code, redirect_uri=REDIRECT_URI, code_verifier=verifier
    )

    assert tokens.scopes == tuple(SCOPES)
    assert tokens.expires_in > 0
    info = await twitch_oauth.validate(tokens.access_token)
    assert (info.user_id, info.login, info.client_id) == ("1337", "ada", fake_twitch.client_id)
    assert info.scopes == tuple(SCOPES)


async def test_a_code_without_its_verifier_is_refused(
    fake_twitch: FakeTwitch, twitch_oauth: TwitchOAuth
) -> None:
    code, verifier = await sign_in(fake_twitch, twitch_oauth)

    with pytest.raises(TwitchRequestFailed, match="Invalid code verifier") as refused:
        await twitch_oauth.exchange_code(
            code, redirect_uri=REDIRECT_URI, code_verifier=verifier[:-1] + "x"
        )
    assert refused.value.status == 400


async def test_a_code_is_used_once(fake_twitch: FakeTwitch, twitch_oauth: TwitchOAuth) -> None:
    code, verifier = await sign_in(fake_twitch, twitch_oauth)
    await twitch_oauth.exchange_code(code, redirect_uri=REDIRECT_URI, code_verifier=verifier)

    with pytest.raises(TwitchRequestFailed, match="Invalid authorization code"):
        await twitch_oauth.exchange_code(code, redirect_uri=REDIRECT_URI, code_verifier=verifier)


async def test_the_client_secret_is_checked(fake_twitch: FakeTwitch) -> None:
    right = TwitchOAuth(fake_twitch.client_id, "unused", base_url=fake_twitch.id_url)
    code, verifier = await sign_in(fake_twitch, right)
    await right.aclose()
    wrong = TwitchOAuth(fake_twitch.client_id, "not-the-secret", base_url=fake_twitch.id_url)
    with pytest.raises(TwitchRequestFailed) as refused:
        await wrong.exchange_code(code, redirect_uri=REDIRECT_URI, code_verifier=verifier)
    assert refused.value.status == 403
    await wrong.aclose()


async def test_a_refresh_rotates_the_tokens(
    fake_twitch: FakeTwitch, twitch_oauth: TwitchOAuth
) -> None:
    code, verifier = await sign_in(fake_twitch, twitch_oauth)
    first = await twitch_oauth.exchange_code(
        code, redirect_uri=REDIRECT_URI, code_verifier=verifier
    )

    second = await twitch_oauth.refresh(first.refresh_token)

    assert second.access_token != first.access_token
    assert second.refresh_token != first.refresh_token
    assert second.scopes == first.scopes
    assert (await twitch_oauth.validate(second.access_token)).user_id == "1337"
    with pytest.raises(Unauthorized):
        await twitch_oauth.validate(first.access_token)
    with pytest.raises(TokenRevoked):
        await twitch_oauth.refresh(first.refresh_token)


async def test_a_revoked_token_cannot_be_refreshed(
    fake_twitch: FakeTwitch, twitch_oauth: TwitchOAuth
) -> None:
    code, verifier = await sign_in(fake_twitch, twitch_oauth)
    tokens = await twitch_oauth.exchange_code(
        code, redirect_uri=REDIRECT_URI, code_verifier=verifier
    )

    await twitch_oauth.revoke(tokens.access_token)
    await twitch_oauth.revoke(tokens.access_token + "unknown")  # already gone: not an error

    with pytest.raises(Unauthorized):
        await twitch_oauth.validate(tokens.access_token)
    with pytest.raises(TokenRevoked):
        await twitch_oauth.refresh(tokens.refresh_token)


async def test_an_app_token_has_no_user(fake_twitch: FakeTwitch, twitch_oauth: TwitchOAuth) -> None:
    token = await twitch_oauth.app_access_token()

    info = await twitch_oauth.validate(token.access_token)

    assert info.user_id is None and info.login is None
    assert info.client_id == fake_twitch.client_id
