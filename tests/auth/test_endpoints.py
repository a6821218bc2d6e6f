"""Sign-up, sign-in, token rotation and sign-out over the REST API."""

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest

from app.settings import Settings
from tests.auth.conftest import ServeApp
from tests.factories import DEFAULT_PASSWORD, bearer, register, unique_email

Client = httpx.AsyncClient


async def test_register_returns_a_working_session(client: Client) -> None:
    email = unique_email()
    body = await register(client, email=email, display_name="Ada")

    assert body["user"]["email"] == email  # type: ignore[index]
    me = await client.get("/api/v1/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json()["display_name"] == "Ada"
    assert me.json()["role"] == "user"
    assert "password" not in me.text and "hash" not in me.text


async def test_duplicate_email_is_409_email_taken_whatever_the_case(client: Client) -> None:
    email = unique_email()
    await register(client, email=email)
    response = await client.post(
        "/api/v1/auth/register",
        json={"email": email.upper(), "password": DEFAULT_PASSWORD, "display_name": "Again"},
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "email_taken"


async def test_concurrent_registrations_of_one_email_create_one_account(client: Client) -> None:
    email = unique_email()
    payload = {"email": email, "password": DEFAULT_PASSWORD, "display_name": "Racer"}
    responses = await asyncio.gather(
        *(client.post("/api/v1/auth/register", json=payload) for _ in range(5))
    )
    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409, 409]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"email": "a@example.com", "display_name": "x"}, "password"),
        ({"email": "a@example.com", "password": "short", "display_name": "x"}, "password"),
        ({"email": "a@example.com", "password": "password123", "display_name": "x"}, "password"),
        ({"email": "a@example.com", "password": "aaaaaaaaaaaaaa", "display_name": "x"}, "password"),
        ({"email": "not-an-email", "password": DEFAULT_PASSWORD, "display_name": "x"}, "email"),
        (
            {"email": "a@example.com", "password": DEFAULT_PASSWORD, "display_name": ""},
            "display_name",
        ),
        (
            {
                "email": "a@example.com",
                "password": DEFAULT_PASSWORD,
                "display_name": "x",
                "role": "admin",
            },
            "role",
        ),
    ],
)
async def test_bad_registrations_are_422_naming_the_field(
    client: Client, payload: dict[str, str], field: str
) -> None:
    response = await client.post("/api/v1/auth/register", json=payload)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["message"]


async def test_malformed_json_is_422_not_500(client: Client) -> None:
    response = await client.post(
        "/api/v1/auth/register", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code in (400, 422)
    assert response.json()["error"]["code"] in ("validation_error", "bad_request")


async def test_login_with_right_password_and_401_without_hint(client: Client) -> None:
    email = unique_email()
    await register(client, email=email)

    ok = await client.post(
        "/api/v1/auth/login", json={"email": email, "password": DEFAULT_PASSWORD}
    )
    assert ok.status_code == 200
    assert ok.json()["token_type"] == "Bearer"

    wrong_password = await client.post(
        "/api/v1/auth/login", json={"email": email, "password": "wrong password!"}
    )
    unknown_email = await client.post(
        "/api/v1/auth/login", json={"email": unique_email(), "password": DEFAULT_PASSWORD}
    )
    assert wrong_password.status_code == unknown_email.status_code == 401
    assert wrong_password.json()["error"]["code"] == unknown_email.json()["error"]["code"]
    assert wrong_password.json()["error"]["message"] == unknown_email.json()["error"]["message"]


async def test_login_is_rate_limited_per_account(client: Client, settings: Settings) -> None:
    email = unique_email()
    await register(client, email=email)
    for _ in range(settings.login_max_per_account):
        response = await client.post(
            "/api/v1/auth/login", json={"email": email, "password": "wrong password!"}
        )
        assert response.status_code == 401
    blocked = await client.post(
        "/api/v1/auth/login", json={"email": email, "password": DEFAULT_PASSWORD}
    )
    assert blocked.status_code == 429
    assert blocked.json()["error"]["code"] == "rate_limited"
    assert int(blocked.headers["retry-after"]) > 0


async def test_login_is_rate_limited_per_client_address(client: Client, settings: Settings) -> None:
    for _ in range(settings.login_max_per_address):
        await client.post(
            "/api/v1/auth/login", json={"email": unique_email(), "password": "whatever!!"}
        )
    blocked = await client.post(
        "/api/v1/auth/login", json={"email": unique_email(), "password": "whatever!!"}
    )
    assert blocked.status_code == 429


async def test_successful_logins_do_not_use_up_the_address_budget(
    serve_app: ServeApp,
) -> None:
    # Many people behind one address (a NAT, a campus) sign in all day long.
    async with serve_app(login_max_per_address=3) as client:
        emails = [str((await register(client))["user"]["email"]) for _ in range(4)]  # type: ignore[index]
        for email in emails * 2:
            ok = await client.post(
                "/api/v1/auth/login", json={"email": email, "password": DEFAULT_PASSWORD}
            )
            assert ok.status_code == 200, ok.text
        for _ in range(3):
            failed = await client.post(
                "/api/v1/auth/login", json={"email": unique_email(), "password": "whatever!!"}
            )
            assert failed.status_code == 401
        blocked = await client.post(
            "/api/v1/auth/login", json={"email": emails[0], "password": DEFAULT_PASSWORD}
        )
        assert blocked.status_code == 429
        assert blocked.json()["error"]["code"] == "rate_limited"
        assert 0 < int(blocked.headers["retry-after"]) <= 15 * 60


async def test_concurrent_failed_logins_cannot_slip_past_the_limit(serve_app: ServeApp) -> None:
    async with serve_app(login_max_per_address=3) as client:
        responses = await asyncio.gather(
            *(
                client.post(
                    "/api/v1/auth/login", json={"email": unique_email(), "password": "nope nope"}
                )
                for _ in range(8)
            )
        )
    assert sorted(r.status_code for r in responses) == [401] * 3 + [429] * 5


async def test_registration_is_rate_limited_per_client_address(serve_app: ServeApp) -> None:
    async with serve_app(register_max_per_address=3, register_window_seconds=600) as client:
        for _ in range(3):
            await register(client)
        blocked = await client.post(
            "/api/v1/auth/register",
            json={"email": unique_email(), "password": DEFAULT_PASSWORD, "display_name": "Bot"},
        )
        assert blocked.status_code == 429
        assert blocked.json()["error"]["code"] == "rate_limited"
        assert 0 < int(blocked.headers["retry-after"]) <= 600
        # Someone else, behind our proxy, still signs up.
        other = await client.post(
            "/api/v1/auth/register",
            json={"email": unique_email(), "password": DEFAULT_PASSWORD, "display_name": "Eve"},
            headers={"X-Forwarded-For": "203.0.113.7"},
        )
        assert other.status_code == 201, other.text


async def _failed_login(client: Client, forwarded_for: str | None) -> int:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    response = await client.post(
        "/api/v1/auth/login",
        json={"email": unique_email(), "password": "whatever!!"},
        headers=headers,
    )
    return response.status_code


async def test_x_forwarded_for_from_a_trusted_proxy_names_the_client(
    serve_app: ServeApp,
) -> None:
    # The test client connects from 127.0.0.1: here that is our reverse proxy.
    async with serve_app(trusted_proxies=["127.0.0.0/8"], login_max_per_address=2) as client:
        assert [await _failed_login(client, "203.0.113.7") for _ in range(3)] == [401, 401, 429]
        # Another client behind the same proxy has a budget of its own, as has the proxy.
        assert await _failed_login(client, "198.51.100.9") == 401
        assert await _failed_login(client, None) == 401
        # A client cannot escape its limit by adding an address of its own in front.
        assert await _failed_login(client, "192.0.2.55, 203.0.113.7") == 429


async def test_x_forwarded_for_from_anyone_else_is_ignored(serve_app: ServeApp) -> None:
    async with serve_app(trusted_proxies=["10.0.0.1"], login_max_per_address=2) as client:
        statuses = [await _failed_login(client, f"203.0.113.{n}") for n in range(1, 4)]
    assert statuses == [401, 401, 429]


async def test_refresh_rotates_and_reuse_revokes_the_family(client: Client) -> None:
    first = await register(client)

    rotated = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert rotated.status_code == 200
    second = rotated.json()
    assert second["refresh_token"] != first["refresh_token"]

    # The stolen, already-used token is presented again: the whole sign-in is revoked.
    reuse = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert reuse.status_code == 401
    assert reuse.json()["error"]["code"] == "refresh_token_reused"

    newest = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]}
    )
    assert newest.status_code == 401
    assert newest.json()["error"]["code"] == "invalid_refresh_token"
    me = await client.get("/api/v1/me", headers=bearer(second["access_token"]))
    assert me.status_code == 401


async def test_unknown_refresh_token_is_401(client: Client) -> None:
    response = await client.post("/api/v1/auth/refresh", json={"refresh_token": "nope"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_refresh_token"


async def test_logout_revokes_refresh_and_access_tokens(client: Client) -> None:
    session = await register(client)
    other = await client.post(
        "/api/v1/auth/login",
        json={"email": session["user"]["email"], "password": DEFAULT_PASSWORD},  # type: ignore[index]
    )

    response = await client.post(
        "/api/v1/auth/logout", json={"refresh_token": session["refresh_token"]}
    )
    assert response.status_code == 204

    refresh = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": session["refresh_token"]}
    )
    assert refresh.status_code == 401
    assert (
        await client.get("/api/v1/me", headers=bearer(session["access_token"]))
    ).status_code == 401
    # Another sign-in of the same account is untouched.
    still = await client.get("/api/v1/me", headers=bearer(other.json()["access_token"]))
    assert still.status_code == 200


def _forge(settings: Settings, **overrides: object) -> str:
    now = datetime.now(UTC)
    claims: dict[str, object] = {
        "sub": "1",
        "role": "admin",
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + timedelta(minutes=5),
        "fam": "00000000-0000-0000-0000-000000000000",
    }
    key = str(overrides.pop("key", settings.jwt_secret.get_secret_value()))
    algorithm = str(overrides.pop("algorithm", "HS256"))
    claims.update(overrides)
    return jwt.encode(claims, key, algorithm=algorithm)


def _alg_none(settings: Settings) -> str:
    header = jwt.utils.base64url_encode(b'{"alg":"none","typ":"JWT"}').decode()
    token = _forge(settings)
    return f"{header}.{token.split('.')[1]}."


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda s: _forge(s, key="another-secret-another-secret-0000"), id="tampered"),
        pytest.param(lambda s: _forge(s)[:-4] + "AAAA", id="bad-signature"),
        pytest.param(_alg_none, id="alg-none"),
        pytest.param(
            lambda s: _forge(s, exp=datetime.now(UTC) - timedelta(seconds=5)), id="expired"
        ),
        pytest.param(lambda s: _forge(s, aud="someone-else"), id="wrong-audience"),
        pytest.param(lambda s: _forge(s, iss="someone-else"), id="wrong-issuer"),
        pytest.param(lambda s: "not.a.jwt", id="garbage"),
    ],
)
async def test_bad_access_tokens_are_401(
    client: Client, settings: Settings, make_token: object
) -> None:
    token = make_token(settings)  # type: ignore[operator]
    response = await client.get("/api/v1/me", headers=bearer(token))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"


async def test_me_without_token_is_401(client: Client) -> None:
    response = await client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
