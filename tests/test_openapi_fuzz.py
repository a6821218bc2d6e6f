"""Schemathesis against the whole web process on real PostgreSQL and Redis (payments on, against
the fake Stripe): every check, a fixed seed, no failure; signed in, then anonymous. The settings
are in schemathesis.toml; ``make fuzz`` runs the same test with more examples
(STREAMPOOLS_FUZZ_EXAMPLES)."""

import asyncio
import os
import sys
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from pydantic import SecretStr

from app.kit.migrate import PROJECT_ROOT
from app.settings import Settings
from tests.conftest import LiveServer
from tests.factories import register
from tests.fakes.kick.signing import public_pem
from tests.fakes.stripe import FakeStripe
from tests.payment.conftest import fake_stripe, payment_settings

EXAMPLES = int(os.environ.get("STREAMPOOLS_FUZZ_EXAMPLES", "25"))
SCHEMATHESIS = Path(sys.executable).with_name("st")

__all__ = ["fake_stripe"]


@pytest.fixture
def settings(
    database_url: str, redis_url: str, fake_stripe: FakeStripe, kick_key: RSAPrivateKey
) -> Settings:
    # the token outlives a long `make fuzz`
    return payment_settings(
        database_url,
        redis_url,
        fake_stripe,
        access_token_ttl_seconds=6 * 3600,
        twitch_eventsub_secret=SecretStr("fuzzing-eventsub-secret"),
        # Twitch sign-in on: its start needs no call to Twitch, its callback refuses every
        # generated state before any.
        twitch_client_id="fuzzing-client-id",
        twitch_client_secret=SecretStr("fuzzing-client-secret"),
        twitch_id_base="http://127.0.0.1:9",  # never the real Twitch
        twitch_api_base="http://127.0.0.1:9/helix",
        # Kick the same; its webhooks verified with a key of the test's (none is signed by it).
        kick_client_id="fuzzing-kick-client-id",
        kick_client_secret=SecretStr("fuzzing-kick-client-secret"),
        kick_id_base="http://127.0.0.1:9",
        kick_api_base="http://127.0.0.1:9",
        kick_public_key=public_pem(kick_key),
        # YouTube the same: its WebSub pushes checked with a secret of the test's (none is
        # signed with it, and no generated channel is linked).
        youtube_client_id="fuzzing-youtube-client-id",
        youtube_client_secret=SecretStr("fuzzing-youtube-client-secret"),
        google_oauth_base="http://127.0.0.1:9",
        google_accounts_base="http://127.0.0.1:9",
        youtube_api_base="http://127.0.0.1:9/youtube/v3",
        youtube_websub_secret=SecretStr("fuzzing-websub-secret"),
    )


async def schemathesis(url: str, token: str, examples: int) -> tuple[int, str]:
    """Run ``st run`` against the live server; the server keeps serving on this event loop.
    An empty token: every request is anonymous."""
    process = await asyncio.create_subprocess_exec(
        str(SCHEMATHESIS),
        "--config-file",
        str(PROJECT_ROOT / "schemathesis.toml"),
        "run",
        f"{url}/schema/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        str(examples),
        "--workers",
        "1",
        "--no-color",
        cwd=PROJECT_ROOT,
        env={**os.environ, "STREAMPOOLS_FUZZ_TOKEN": token},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, output.decode(errors="replace")


@pytest.mark.timeout(1800)
async def test_the_api_does_what_its_openapi_document_says(
    live_server: LiveServer, client: httpx.AsyncClient
) -> None:
    session = await register(client)
    for token, examples in [(str(session["access_token"]), EXAMPLES), ("", EXAMPLES // 5 or 1)]:
        code, output = await schemathesis(live_server.url, token, examples)
        print(output)  # shown by `make fuzz` and `pytest -rP`
        assert code == 0, output[-20_000:]
        assert "failure" not in output.rsplit("=== SUMMARY ===", 1)[-1]
