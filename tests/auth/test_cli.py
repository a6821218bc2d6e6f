"""`streampools role EMAIL ROLE`: the operator's way to make an admin (or take it back), which
reaches the account's tokens at once."""

import subprocess
import sys

import httpx

from app.kit.resources import Resources
from app.kit.uow import unit_of_work
from app.settings import Settings
from tests.factories import DEFAULT_PASSWORD, create_user


def role_command(settings: Settings, email: str, role: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "role", email, role],
        env={"DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url, "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_the_role_command_makes_an_admin_and_old_tokens_stop_working(
    client: httpx.AsyncClient, resources: Resources, settings: Settings
) -> None:
    async with unit_of_work(resources) as session:
        await create_user(session, settings, email="ops@example.com")
    signed_in = await client.post(
        "/api/v1/auth/login", json={"email": "ops@example.com", "password": DEFAULT_PASSWORD}
    )
    assert signed_in.status_code == 200, signed_in.text
    old_token = signed_in.json()["access_token"]
    refresh_token = signed_in.json()["refresh_token"]

    done = role_command(settings, "ops@example.com", "admin")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ops@example.com is now admin" in done.stdout

    # The token that claims the old role is refused; a refreshed one carries the new role.
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {old_token}"})
    assert me.status_code == 401
    refreshed = await client.post("/api/v1/auth/refresh", json={"refresh_token": refresh_token})
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["user"]["role"] == "admin"


def test_the_role_command_names_an_unknown_account(settings: Settings) -> None:
    done = role_command(settings, "nobody@example.com", "admin")
    assert done.returncode == 1
    assert "nobody@example.com: No such user." in done.stderr
