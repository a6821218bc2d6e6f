"""Base classes for msgspec schemas: unknown input fields are an error, output is plain JSON."""

import msgspec


class Input(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A request body. Fields nobody declared are rejected, not ignored."""


class Output(msgspec.Struct, kw_only=True):
    """A response body."""
