"""HTTP plumbing for Litestar: dependencies (unit of work, caller), error rendering, request ids."""

import logging
import re
import time
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

import msgspec
from litestar import Litestar, Request, Response
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.enums import ScopeType
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from litestar.params import HeaderParameter, Parameter
from litestar.routes import HTTPRoute
from litestar.types import ASGIApp, ExceptionHandlersMap, Message, Receive, Scope, Send
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.errors import AppError, IdempotencyKeyRequired, InvalidInput
from app.kit.failures import failure_summary, translate
from app.kit.logging import request_id_var
from app.kit.openapi import IDEMPOTENCY_HEADER
from app.kit.payload import INT64_MAX, INT64_MIN, MAX_DEPTH, check_payload, too_deep
from app.kit.resources import Resources
from app.kit.uow import read_session, unit_of_work

log = logging.getLogger("streampools.http")


def resources_of(state: State) -> Resources:
    resources = state["resources"]
    assert isinstance(resources, Resources)
    return resources


async def provide_resources(state: State) -> Resources:
    return resources_of(state)


# The session providers take ``resources`` (itself a dependency) rather than ``state`` so that
# Litestar resolves them in a later batch than the caller's principal. Dependencies of one batch
# run concurrently, and when one fails (no token: 401) Litestar neither waits for nor closes a
# generator a sibling already started: it was left for the garbage collector, whose two
# ``aclose()`` calls (this generator and the context manager inside it) collided and logged
# "asynchronous generator is already running" on most unauthenticated requests.


async def provide_session(resources: NamedDependency[Resources]) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: committed before the response goes out."""
    async with unit_of_work(resources) as session:
        yield session


async def provide_read_session(
    resources: NamedDependency[Resources],
) -> AsyncIterator[AsyncSession]:
    async with read_session(resources) as session:
        yield session


#: The ``Idempotency-Key`` header of a money-moving request: required. Missing or blank it is
#: answered 400 ``idempotency_key_required`` (``validation_error_handler``, ``require_key``);
#: longer than 255 characters, 422 naming it.
IdempotencyKey = Annotated[
    str,
    HeaderParameter(
        name=IDEMPOTENCY_HEADER, required=True, max_length=255, schema_extra={"minLength": 1}
    ),
]

#: The largest id PostgreSQL's BIGINT holds.
MAX_ID = INT64_MAX

#: A row id in a path (``/pools/{pool_id}``): a positive BIGINT, refused with 422 otherwise.
Id = Annotated[int, Parameter(ge=1, le=MAX_ID, schema_extra={"maximum": MAX_ID})]


def require_key(key: str | None) -> str:
    """The request's ``Idempotency-Key`` header, which money-moving endpoints require."""
    if not key or not key.strip():
        raise IdempotencyKeyRequired()
    return key.strip()


def client_address(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


# -- strict request bodies ------------------------------------------------------------------


async def strict_body(request: Request[Any, Any, Any]) -> None:
    """Check what a client sent before Litestar's lenient conversion sees it: ids in the path
    that PostgreSQL can hold; a JSON body nested no deeper than we parse, decoded strictly
    (``"100"`` is not an amount and ``true`` is not 1), with clean text and 64-bit integers
    (app.kit.payload). Runs as the app's ``before_request`` hook."""
    for name, value in request.path_params.items():
        if isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
            raise _invalid(name, "must be below 2^63 (a 64-bit integer)")
    data_field = request.route_handler.parsed_fn_signature.parameters.get("data")
    if data_field is None:
        return
    body = await request.body()
    if too_deep(body):
        raise _invalid("body", f"JSON may not nest deeper than {MAX_DEPTH} levels")
    if not isinstance(data_field.annotation, type):
        return
    if not issubclass(data_field.annotation, msgspec.Struct):
        return
    try:
        decoded = msgspec.json.decode(body, type=data_field.annotation, strict=True)
    except msgspec.ValidationError as error:
        message = str(error)
        field = message.rsplit("`$.", 1)[-1].rstrip("`") if "`$." in message else "body"
        raise _invalid(field, message) from error
    except (msgspec.DecodeError, UnicodeDecodeError) as error:
        raise _invalid("body", f"not valid JSON in UTF-8: {error}") from error
    try:
        check_payload(decoded)
    except InvalidInput as error:
        raise _invalid(error.details["field"], error.problem) from error


def _invalid(field: str, message: str) -> ValidationException:
    """The 422 ``validation_error`` every malformed REST payload gets, naming the field."""
    return ValidationException(extra=[{"key": field, "message": message}])


# -- error rendering --------------------------------------------------------------------------


def _error_response(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> Response[Any]:
    request_id = request_id_var.get()
    if request_id:
        body = {**body, "request_id": request_id}
    return Response({"error": body}, status_code=status, headers=headers)


def app_error_handler(_: Request[Any, Any, Any], error: AppError) -> Response[Any]:
    return _error_response(error.status, error.to_dict(), error.headers)


_MISSING_PARAMETER = re.compile(r"^Missing required (\w+) parameter '([^']+)'")


def _invalid_fields(error: ValidationException) -> list[dict[str, str]]:
    """The fields (body properties, query, path or header parameters) a validation error names."""
    problems = error.extra if isinstance(error.extra, list) else []
    fields = [
        {"field": p.get("key") or "body", "message": p.get("message", "is invalid")}
        for p in problems
        if isinstance(p, dict)
    ]
    if not fields and (missing := _MISSING_PARAMETER.match(str(error.detail))):
        kind, name = missing.groups()
        fields = [{"field": name, "message": f"the {kind} parameter is required"}]
    return fields


def validation_error_handler(
    request: Request[Any, Any, Any], error: ValidationException
) -> Response[Any]:
    fields = _invalid_fields(error)
    # Litestar names a missing header by its name, an invalid one by its parameter
    # (``idempotency_key``, e.g. too long): a missing key keeps its own error.
    if fields and fields[0]["field"] == IDEMPOTENCY_HEADER:
        return app_error_handler(request, IdempotencyKeyRequired())
    if fields:
        message = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
    else:
        message = "The request body is not valid JSON or does not match the expected shape."
    return _error_response(
        422, {"code": "validation_error", "message": message, "details": {"fields": fields}}
    )


_HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def http_error_handler(_: Request[Any, Any, Any], error: HTTPException) -> Response[Any]:
    status = error.status_code
    if status >= 500:
        log.error("http error %s: %s", status, error.detail)
        return _error_response(
            status, {"code": "internal_error", "message": "Something went wrong on our side."}
        )
    if isinstance(error, NotAuthorizedException):
        status = 401
    return _error_response(
        status,
        {"code": _HTTP_CODES.get(status, "error"), "message": error.detail},
        # e.g. the router's 405 names the allowed methods in ``Allow``
        headers=error.headers,
    )


def unexpected_error_handler(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    known = translate(error)
    if known is not None:
        # An expected failure with a clear answer: one line, no traceback.
        log.warning("request refused: %s", failure_summary(error), extra={"code": known.code})
        return app_error_handler(request, known)
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return _error_response(
        500,
        {
            "code": "internal_error",
            "message": "Something went wrong on our side; it has been logged.",
        },
    )


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    AppError: app_error_handler,
    ValidationException: validation_error_handler,
    HTTPException: http_error_handler,
    Exception: unexpected_error_handler,
}


# -- OPTIONS --------------------------------------------------------------------------------


def repair_options_handlers(app: Litestar) -> None:
    """Make each path's ``OPTIONS`` answer list every method of the path.

    A Controller registers its handlers one at a time, and Litestar's automatic ``OPTIONS``
    handler keeps the methods of the route as it was when the first handler of the path arrived
    (``GET /payments/deposits`` answered ``Allow: GET, OPTIONS`` without ``POST``). The handler
    reads the methods from the route its closure holds: point it at the finished route."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or "OPTIONS" not in route.route_handler_map:
            continue
        handler, _ = route.route_handler_map["OPTIONS"]
        for cell in getattr(handler.fn, "__closure__", None) or ():
            if isinstance(cell.cell_contents, HTTPRoute) and cell.cell_contents is not route:
                cell.cell_contents = route


# -- request ids and access logs --------------------------------------------------------------


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    """Give every request an id (the caller's ``X-Request-Id`` if sane), echo it back, and
    write one access-log line when the response starts."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else None
        request_id = request_id or uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
                log.info(
                    "request",
                    extra={
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": message["status"],
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    },
                )
            await send(message)

        try:
            await app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)

    return middleware
