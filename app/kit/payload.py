"""What every client payload must satisfy whatever its schema, checked the same way at every
entry point (REST, Socket.IO, platform chat): JSON nested no deeper than a parser can follow,
text without control characters or broken Unicode, integers PostgreSQL can hold."""

import re
from typing import Any, Final

import msgspec

from app.kit.errors import InvalidInput

#: No request of ours nests more than a few levels (Stripe events about ten); parsers recurse
#: once per level, and a body nested thousands deep would exhaust Python's stack.
MAX_DEPTH: Final = 64

INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1

# Strings are skipped when counting brackets: a ``[`` inside a string opens nothing. The closing
# quote is optional so that the pattern never fails and backtracks: linear on any input.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_OPENERS = frozenset(b"[{")


def too_deep(raw: bytes | str, limit: int = MAX_DEPTH) -> bool:
    """Whether the JSON text ``raw`` nests arrays and objects more than ``limit`` levels deep.
    Reads the bytes without parsing them, so it is safe on any input."""
    if isinstance(raw, str):
        if raw.count("[") + raw.count("{") <= limit:
            return False
        data = raw.encode("utf-8", "surrogatepass")
    else:
        data = raw
    if data.count(b"[") + data.count(b"{") <= limit:
        return False  # cannot nest deeper than it has openers: nearly every payload
    depth = 0
    for byte in _JSON_STRING.sub(b"", data).translate(None, _NOT_BRACKETS):
        depth = depth + 1 if byte in _OPENERS else depth - 1
        if depth > limit:
            return True
    return False


# -- text -------------------------------------------------------------------------------------

# C0 controls (NUL included), DEL, C1 controls, and UTF-16 surrogates, which only ever appear
# alone in a str decoded from broken input. PostgreSQL refuses NUL in text; the others garble
# what other viewers see or cannot be encoded at all.
_FORBIDDEN_SINGLE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# Multi-line text may keep tabs and line breaks.
_FORBIDDEN_MULTI_LINE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")

_NAMES = {0x00: "NUL", 0x09: "a tab", 0x0A: "a line break", 0x0D: "a carriage return"}


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """Why ``value`` is not acceptable user text, or None if it is."""
    pattern = _FORBIDDEN_MULTI_LINE if multiline else _FORBIDDEN_SINGLE_LINE
    found = pattern.search(value)
    if found is None:
        return None
    point = ord(found.group())
    if 0xD800 <= point <= 0xDFFF:
        return f"is not valid Unicode (a lone surrogate, U+{point:04X})"
    name = _NAMES.get(point, "control characters")
    return f"may not contain {name} (U+{point:04X} at position {found.start()})"


def check_text(field: str, value: str, *, multiline: bool = False) -> str:
    """``value`` if it is acceptable user text, else InvalidInput naming ``field``."""
    problem = text_problem(value, multiline=multiline)
    if problem is not None:
        raise InvalidInput(field, problem)
    return value


# -- whole payloads ---------------------------------------------------------------------------


def check_payload(value: Any, path: str = "") -> None:
    """Check every string and integer of a decoded payload (Structs, lists, dicts): the rules no
    schema has to repeat. Text is single-line unless its Struct lists the field in
    ``multiline_fields``. Raises InvalidInput naming the first bad field (``outcomes[1].label``)."""
    if isinstance(value, str):
        check_text(path or "body", value)
    elif isinstance(value, bool):
        return
    elif isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            raise InvalidInput(path or "body", "must be below 2^63 (a 64-bit integer)")
    elif isinstance(value, msgspec.Struct):
        multiline: frozenset[str] = getattr(value, "multiline_fields", frozenset())
        # Field by field, not msgspec.to_builtins: the path names the field that failed.
        for name in value.__struct_fields__:
            field = f"{path}.{name}" if path else name
            item = getattr(value, name)
            if isinstance(item, str) and name in multiline:
                check_text(field, item, multiline=True)
            else:
                check_payload(item, field)
    elif isinstance(value, list | tuple | set | frozenset):
        for index, item in enumerate(value):
            check_payload(item, f"{path}[{index}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            check_payload(key, path or "body")
            check_payload(item, f"{path}.{key}" if path else str(key))
