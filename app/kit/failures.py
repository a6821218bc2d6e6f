"""Infrastructure failures a caller can act on, turned into AppErrors: bad values PostgreSQL
refused (a number out of 64-bit range, a NUL character) and a database or Redis that does not
answer. Whatever the transport, the unit of work has rolled back by the time this runs."""

import asyncio

import asyncpg
import redis.exceptions
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from app.kit.errors import AppError, ServiceUnavailable
from app.kit.pg import sqlstate


class ValueOutOfRange(AppError):
    code = "validation_error"
    status = 422
    message = (
        "A value is out of range or not allowed: ids and amounts are integers below 2^63, "
        "and text may not contain control characters such as NUL."
    )


class BackendUnavailable(ServiceUnavailable):
    message = "A service we depend on is not answering; try again in a moment."


def translate(error: BaseException) -> AppError | None:
    """The AppError a failure of PostgreSQL or Redis amounts to, or None for a real bug."""
    if isinstance(error, DBAPIError) and (sqlstate(error) or "").startswith("22"):
        return ValueOutOfRange()  # SQLSTATE class 22: data exception (bad input)
    if isinstance(error, DBAPIError) and _client_side_data_error(error):
        return ValueOutOfRange()
    if isinstance(
        error,
        OperationalError
        | InterfaceError
        | PoolTimeout
        | redis.exceptions.ConnectionError
        | redis.exceptions.TimeoutError
        | ConnectionError
        | asyncio.TimeoutError,
    ):
        return BackendUnavailable()
    return None


def _client_side_data_error(error: DBAPIError) -> bool:
    """asyncpg refuses some values before sending them (an int beyond 64 bits)."""
    cause = getattr(error.orig, "__cause__", None)
    return isinstance(cause, asyncpg.exceptions.DataError) and "out of" in str(cause)


def failure_summary(error: BaseException) -> str:
    """One line about a translated failure for the log: its type and the first line of its
    message (the SQL and parameters that follow are noise)."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0][:300]}" if lines else type(error).__name__
