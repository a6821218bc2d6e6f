"""Kick's OAuth (PKCE S256 and state, rotating refresh tokens) and API calls against the fake."""

from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from integrations.errors import RequestFailed, TokenRevoked
from integrations.kick.api import KickApi
from integrations.kick.oauth import KickOAuth
from integrations.kick.webhooks import load_public_key
from tests.fakes.kick import FakeKick

REDIRECT_URI = "http://127.0.0.1:8000/api/v1/auth/kick/callback"
SCOPES = ["user:read", "channel:read", "events:subscribe"]


@pytest.fixture
async def oauth(fake_kick: FakeKick) -> AsyncIterator[KickOAuth]:
    client = KickOAuth(fake_kick.client_id, fake_kick.client_secret, base_url=fake_kick.url)
    yield client
    await client.aclose()


@pytest.fixture
async def api(fake_kick: FakeKick) -> AsyncIterator[KickApi]:
    client = KickApi(base_url=fake_kick.url, sleep=_no_wait)
    yield client
    await client.aclose()


async def _no_wait(_seconds: float) -> None:
    return None


async def _consent(fake: FakeKick, oauth: KickOAuth, user_id: str = "1337") -> tuple[str, str]:
    """The user approves the app at Kick: the code their redirect carries, and our verifier."""
    fake.add_user(user_id, "Ada")
    request = oauth.authorize_url(redirect_uri=REDIRECT_URI, scopes=SCOPES)
    assert "code_challenge_method=S256" in request.url and "state=" in request.url
    async with httpx.AsyncClient() as browser:
        response = await browser.get(f"{request.url}&fake_user_id={user_id}")
    assert response.status_code == 302
    back = parse_qs(urlsplit(response.headers["Location"]).query)
    assert back["state"] == [request.state]
    return back["code"][0], request.code_verifier


async def test_a_code_with_its_verifier_gives_tokens_and_kick_checks_the_verifier(
    fake_kick: FakeKick, oauth: KickOAuth, api: KickApi
) -> None:
    code, verifier = await _consent(fake_kick, oauth)
    with pytest.raises(RequestFailed) as refused:
        await oauth.exchange_code(code, redirect_uri=REDIRECT_URI, code_verifier="x" * 43)
    assert refused.value.status == 400

    code, verifier = await _consent(fake_kick, oauth)
    tokens = await oauth.exchange_code(code, redirect_uri=REDIRECT_URI, code_verifier=verifier)
    assert set(tokens.scopes) == set(SCOPES)  # Kick says them space-separated
    user = await api.get_user(tokens.access_token)
    assert (user.user_id, user.name) == ("1337", "Ada")


async def test_every_refresh_hands_out_a_new_refresh_token_and_the_old_one_stops(
    fake_kick: FakeKick, oauth: KickOAuth
) -> None:
    code, verifier = await _consent(fake_kick, oauth)
    first = await oauth.exchange_code(code, redirect_uri=REDIRECT_URI, code_verifier=verifier)
    second = await oauth.refresh(first.refresh_token)
    assert second.refresh_token != first.refresh_token
    assert second.access_token != first.access_token
    with pytest.raises(TokenRevoked):
        await oauth.refresh(first.refresh_token)
    third = await oauth.refresh(second.refresh_token)
    assert third.refresh_token not in (first.refresh_token, second.refresh_token)


async def test_subscriptions_chat_live_state_and_the_public_key(
    fake_kick: FakeKick, oauth: KickOAuth, api: KickApi
) -> None:
    fake_kick.add_user("1337", "Ada")
    bot = fake_kick.issue_token("4242", ["user:read", "chat:write"])
    app = (await oauth.app_access_token()).access_token

    created = await api.create_subscriptions(
        app, broadcaster_user_id="1337", events=[("chat.message.sent", 1)]
    )
    assert [(c.name, c.subscription_id is not None) for c in created] == [
        ("chat.message.sent", True)
    ]
    [listed] = await api.list_subscriptions(app)
    assert (listed.broadcaster_user_id, listed.event, listed.version) == (
        "1337",
        "chat.message.sent",
        1,
    )
    assert await api.delete_subscription(app, listed.id) is True
    assert await api.delete_subscription(app, listed.id) is False

    sent = await api.send_chat_message(
        bot.access_token, broadcaster_id="1337", sender_id="4242", message="@grace 100 on Yes"
    )
    assert sent.is_sent
    assert fake_kick.chat_messages[-1]["broadcaster_user_id"] == 1337
    assert fake_kick.chat_messages[-1]["content"] == "@grace 100 on Yes"

    assert await api.livestreams(app, ["1337"]) == []
    fake_kick.go_live("1337")
    [live] = await api.livestreams(app, ["1337"])
    assert live.broadcaster_user_id == "1337" and live.started_at is not None

    key = load_public_key(await api.public_key())
    assert key.public_numbers() == fake_kick.key.public_key().public_numbers()
