"""The check every test gets for free: a test that leaves the ledger broken fails, naming what
broke, unless it says it breaks the ledger on purpose."""

import os
import textwrap

import pytest

from app.kit.migrate import PROJECT_ROOT
from tests.conftest import Servers

pytest_plugins = ["pytester"]

# Runs against the suite's own PostgreSQL (in a database of its own), as any test would.
INNER_TESTS = '''
import asyncpg
import pytest

BREAK_THE_LEDGER = """
    SET session_replication_role = replica;
    INSERT INTO ledger_transactions (idempotency_key, kind, fingerprint)
    VALUES ('lonely', 'transfer', decode('00', 'hex'));
"""


async def _superuser_sql(database_url: str, sql: str) -> None:
    connection = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def test_no_money_moved(database_url: str) -> None:
    pass


async def test_breaks_the_ledger(database_url: str) -> None:
    await _superuser_sql(database_url, BREAK_THE_LEDGER)


@pytest.mark.ledger_violations_expected
async def test_breaks_the_ledger_on_purpose(database_url: str) -> None:
    await _superuser_sql(database_url, BREAK_THE_LEDGER)
'''


def test_a_test_leaving_the_ledger_broken_fails_naming_the_violation(
    pytester: pytest.Pytester, servers: Servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    postgres, redis = servers.postgres, servers.redis
    pytester.makeconftest(
        textwrap.dedent(
            f"""
            from pathlib import Path

            import pytest

            from app.kit.embedded import EmbeddedPostgres, EmbeddedRedis
            from tests.conftest import *  # noqa: F403  (the suite's fixtures, the check too)
            from tests.conftest import Servers


            @pytest.fixture(scope="session")
            def servers():
                return Servers(
                    EmbeddedPostgres(Path({str(postgres.data_dir)!r}), {postgres.port}),
                    EmbeddedRedis(Path({str(redis.data_dir)!r}), {redis.port}),
                )
            """
        )
    )
    pytester.makeini(
        textwrap.dedent(
            """
            [pytest]
            asyncio_mode = auto
            asyncio_default_fixture_loop_scope = session
            asyncio_default_test_loop_scope = session
            addopts = --strict-markers
            markers =
                ledger_violations_expected: breaks the ledger on purpose
            """
        )
    )
    pytester.makepyfile(test_inner=INNER_TESTS)
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join([str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")])
    )

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")

    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_breaks_the_ledger*",
            "*the ledger's invariants broke:*",
            "*- transaction * has 0 entries (at least 2 expected)*",
        ]
    )
    assert (
        "test_breaks_the_ledger_on_purpose"
        not in result.stdout.str().split("short test summary")[-1]
    )
