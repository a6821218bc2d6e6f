"""Base classes for msgspec schemas: unknown input fields are an error, output is plain JSON."""

from typing import ClassVar

import msgspec


class Input(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A request body. Fields nobody declared are rejected, not ignored."""

    #: Text fields that may hold tabs and line breaks; all other text is single-line
    #: (app.kit.payload checks every field of every payload).
    multiline_fields: ClassVar[frozenset[str]] = frozenset()


class Output(msgspec.Struct, kw_only=True):
    """A response body."""
