"""Reading PostgreSQL errors that carry meaning (which constraint refused a write)."""

from sqlalchemy.exc import DBAPIError


def constraint_name(error: DBAPIError) -> str | None:
    """The name of the constraint behind an integrity error, if PostgreSQL gave one."""
    cause = getattr(error.orig, "__cause__", None)
    name = getattr(cause, "constraint_name", None)
    return str(name) if name else None


def sqlstate(error: DBAPIError) -> str | None:
    cause = getattr(error.orig, "__cause__", None)
    state = getattr(cause, "sqlstate", None)
    return str(state) if state else None
