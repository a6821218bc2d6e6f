"""Stripe's API errors (``{"error": {...}}``)."""

from tests.fakes.stripe.objects import JsonObject


class ApiError(Exception):
    """A Stripe API error response (``{"error": {...}}``)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        error_type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_type = error_type
        self.param = param
        self.code = code

    def body(self) -> JsonObject:
        error: JsonObject = {"message": self.message, "type": self.error_type}
        if self.param is not None:
            error["param"] = self.param
        if self.code is not None:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        return {"error": error}
