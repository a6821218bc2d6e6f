"""SQL functions and triggers kept as source files (``app/<domain>/sql/*.sql``), next to the
repository that calls them, and installed by migrations.

The rule: a changed ``.sql`` file needs a new migration that installs it again, naming the
file with the digest of its new text (``SOURCES = {"app/pool/sql/x.sql": "<digest>"}``, then
``install(op.execute, SOURCES)``; ``python -m app.kit.sql_source`` prints the digests). A
migration installs the files as they are when it runs, so an older migration run on a new
database installs the newer text too, and ``upgrade head`` always ends with the files' text.
``tests/kit/test_sql_source.py`` checks both halves: the latest migration naming each file
names its current digest (so a database migrated before the change gets it), and what
``upgrade head`` installs (``pg_get_functiondef``, ``pg_get_triggerdef``) is exactly what the
files say, so a function's text lives in one file only.

A file holds one ``CREATE OR REPLACE FUNCTION``, or triggers written as
``DROP TRIGGER IF EXISTS ...; CREATE TRIGGER ...;`` pairs, so installing it again is harmless.
"""

import hashlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def sources() -> list[Path]:
    """Every SQL source file of the application."""
    return sorted((PROJECT_ROOT / "app").glob("*/sql/*.sql"))


def statements(path: Path) -> list[str]:
    """The statements of a source file, split at semicolons that end a line outside
    dollar-quoted bodies (so each can go through a driver that runs one statement at a time)."""
    return list(_split(path.read_text(encoding="utf-8")))


def _split(text: str) -> Iterator[str]:
    current: list[str] = []
    quoted = False
    for line in text.splitlines():
        current.append(line)
        if line.count("$$") % 2 == 1:
            quoted = not quoted
        if not quoted and line.rstrip().endswith(";"):
            statement = "\n".join(current).strip().removesuffix(";").strip()
            if _code(statement):
                yield statement
            current = []
    rest = "\n".join(current).strip()
    if _code(rest):
        yield rest


def _code(statement: str) -> bool:
    """Whether a chunk holds more than comments and blank lines."""
    return any(
        line.strip() and not line.strip().startswith("--") for line in statement.splitlines()
    )


def digest(path: Path) -> str:
    """What a migration records of the file's text it was written for."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def install(execute: Callable[[str], Any], files: Mapping[str, str]) -> None:
    """Run the source files (paths relative to the project root, each with the digest its
    migration was written for) through ``execute``, e.g. Alembic's ``op.execute``."""
    for relative in files:
        for statement in statements(PROJECT_ROOT / relative):
            execute(statement)


if __name__ == "__main__":
    for source in sources():
        print(f'    "{source.relative_to(PROJECT_ROOT)}": "{digest(source)}",')
