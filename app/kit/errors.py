"""The error root: every failure a caller can act on has a stable code, a message and a status."""

from typing import Any, ClassVar


class AppError(Exception):
    """Base of every domain error. Rendered the same over REST and Socket.IO."""

    code: ClassVar[str] = "error"
    status: ClassVar[int] = 400
    message: ClassVar[str] = "The request could not be completed."
    #: When True the unit of work commits what it did before the error is raised
    #: (e.g. revoking a token family on reuse must persist although the caller gets a 401).
    keeps_changes: ClassVar[bool] = False

    def __init__(self, message: str | None = None, **details: Any) -> None:
        self.detail = message or self.message
        self.details = details
        super().__init__(self.detail)

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.detail}
        if self.details:
            body["details"] = self.details
        return body

    @property
    def headers(self) -> dict[str, str]:
        return {}


class BadRequest(AppError):
    code = "bad_request"
    status = 400


class InvalidInput(AppError):
    """A well-formed payload whose values break a rule (names the field)."""

    code = "validation_error"
    status = 422

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", field=field)
        self.problem = message


class NotAuthenticated(AppError):
    code = "not_authenticated"
    status = 401
    message = "Sign in to do this."


class Forbidden(AppError):
    code = "forbidden"
    status = 403
    message = "You are not allowed to do this."


class NotFound(AppError):
    code = "not_found"
    status = 404
    message = "Not found."


class Conflict(AppError):
    code = "conflict"
    status = 409


class RateLimited(AppError):
    code = "rate_limited"
    status = 429
    message = "Too many attempts; wait a little and try again."

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        super().__init__(message, retry_after=retry_after)
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class IdempotencyKeyRequired(AppError):
    code = "idempotency_key_required"
    status = 400
    message = "Send an Idempotency-Key header (1 to 255 characters) with this request."


class ServiceUnavailable(AppError):
    code = "service_unavailable"
    status = 503
