"""`streampools ledger check` over a whole database: exit 0 when every invariant holds, 1 naming
each violation otherwise."""

import subprocess
import sys

import pytest
from sqlalchemy import text

from app.kit.resources import Resources
from app.kit.uow import unit_of_work
from app.settings import Settings
from tests.factories import create_user, fund_wallet


def ledger_check_command(settings: Settings) -> subprocess.CompletedProcess[str]:
    """Run `streampools ledger check` against the test database, as a person would."""
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "ledger", "check"],
        env={"DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url, "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.ledger_violations_expected
async def test_ledger_check_passes_on_a_sound_ledger_and_names_violations(
    resources: Resources, settings: Settings
) -> None:
    async with unit_of_work(resources) as session:
        user = await create_user(session, settings)
        wallet = await fund_wallet(session, user.id, 500)

    sound = ledger_check_command(settings)
    assert sound.returncode == 0, sound.stdout + sound.stderr
    assert "all invariants hold" in sound.stdout

    # Corrupt the ledger the only way possible: as a superuser with the triggers switched off.
    async with unit_of_work(resources) as session:
        await session.execute(text("SET LOCAL session_replication_role = replica"))
        await session.execute(
            text("UPDATE ledger_entries SET amount = amount + 1 WHERE account_id = :w"),
            {"w": wallet},
        )

    broken = ledger_check_command(settings)
    assert broken.returncode == 1
    assert "does not balance" in broken.stdout
    assert f"account {wallet} caches balance 500 but its entries sum to 501" in broken.stdout
