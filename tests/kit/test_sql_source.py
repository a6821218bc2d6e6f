"""SQL functions and triggers live in source files: what ``upgrade head`` installs is exactly
what the files say, and every function and trigger of the schema has its file."""

import importlib.util
import re
from pathlib import Path

import asyncpg

from app.kit.sql_source import PROJECT_ROOT, digest, sources, statements
from tests.conftest import TEMPLATE_DATABASE, Servers

FUNCTIONS = """
SELECT p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS name,
       pg_get_functiondef(p.oid) AS definition
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'public' AND p.prokind IN ('f', 'p')
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
"""
TRIGGERS = """
SELECT t.tgname AS name, pg_get_triggerdef(t.oid) AS definition
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND NOT t.tgisinternal
"""


async def _definitions(dsn: str) -> tuple[dict[str, str], dict[str, str]]:
    connection = await asyncpg.connect(dsn)
    try:
        functions = {r["name"]: r["definition"] for r in await connection.fetch(FUNCTIONS)}
        triggers = {r["name"]: r["definition"] for r in await connection.fetch(TRIGGERS)}
    finally:
        await connection.close()
    return functions, triggers


def _named_in_sources() -> tuple[set[str], set[str]]:
    functions: set[str] = set()
    triggers: set[str] = set()
    for path in sources():
        text = path.read_text(encoding="utf-8")
        functions.update(re.findall(r"CREATE OR REPLACE FUNCTION (\w+)\(", text))
        triggers.update(re.findall(r"CREATE (?:CONSTRAINT )?TRIGGER (\w+)", text))
    return functions, triggers


async def test_upgrade_head_installs_exactly_the_source_files(
    servers: Servers, admin_connection: asyncpg.Connection
) -> None:
    # What the migrations installed, then the same database with every source file run again:
    # any difference is a file changed without a migration that installs it (or the reverse).
    copy = "sql_source_check"
    await admin_connection.execute(f"DROP DATABASE IF EXISTS {copy} WITH (FORCE)")
    await admin_connection.execute(f"CREATE DATABASE {copy} TEMPLATE {TEMPLATE_DATABASE}")
    dsn = servers.postgres.dsn(copy)
    try:
        installed = await _definitions(dsn)
        connection = await asyncpg.connect(dsn)
        try:
            async with connection.transaction():
                for path in sources():
                    for statement in statements(path):
                        await connection.execute(statement)
        finally:
            await connection.close()
        from_files = await _definitions(dsn)
    finally:
        await admin_connection.execute(f"DROP DATABASE IF EXISTS {copy} WITH (FORCE)")

    installed_functions, installed_triggers = installed
    file_functions, file_triggers = from_files
    assert installed_functions == file_functions
    assert installed_triggers == file_triggers
    named_functions, named_triggers = _named_in_sources()
    assert {name.split("(")[0] for name in installed_functions} == named_functions
    assert set(installed_triggers) == named_triggers


def _recorded_digests() -> dict[str, str]:
    """Each source file's digest as named by the latest migration that installs it."""
    recorded: dict[str, str] = {}
    for path in sorted((PROJECT_ROOT / "migrations" / "versions").glob("[0-9]*.py")):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        recorded.update(getattr(module, "SOURCES", {}))
    return recorded


def test_a_changed_source_file_comes_with_a_migration_that_installs_it() -> None:
    # Databases migrated before the change get the new text only from a new migration.
    current = {str(path.relative_to(PROJECT_ROOT)): digest(path) for path in sources()}
    assert _recorded_digests() == current


def test_statements_split_at_semicolons_outside_function_bodies(tmp_path: Path) -> None:
    source = tmp_path / "example.sql"
    source.write_text(
        "-- a comment;\n"
        "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$\n"
        "BEGIN\n    RETURN 1;\nEND $$;\n\n"
        "DROP TRIGGER IF EXISTS t ON x;\n"
        "CREATE TRIGGER t BEFORE DELETE ON x\n    FOR EACH ROW EXECUTE FUNCTION f();\n"
    )
    assert statements(source) == [
        "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$\n"
        "BEGIN\n    RETURN 1;\nEND $$",
        "DROP TRIGGER IF EXISTS t ON x",
        "CREATE TRIGGER t BEFORE DELETE ON x\n    FOR EACH ROW EXECUTE FUNCTION f()",
    ]
