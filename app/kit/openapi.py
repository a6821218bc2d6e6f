"""The OpenAPI document, made to say what the API does: who must sign in, how errors look, which
statuses each operation answers, and request bodies exactly as msgspec decodes them."""

from collections.abc import Iterator, Sequence
from typing import Any

import msgspec
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import OpenAPIConfig, ResponseSpec
from litestar.openapi.plugins import (
    OpenAPIRenderPlugin,
    SwaggerRenderPlugin,
)
from litestar.openapi.spec import (
    Components,
    OpenAPI,
    OpenAPIMediaType,
    OpenAPIResponse,
    Operation,
    Reference,
    Schema,
    SecurityRequirement,
    SecurityScheme,
)
from litestar.routes import HTTPRoute

from app.kit.schema import Output

BEARER = "BearerToken"
#: The dependency names that put a caller behind a request (app.auth.dependencies).
PRINCIPAL = "principal"
OPTIONAL_PRINCIPAL = "optional_principal"
IDEMPOTENCY_HEADER = "Idempotency-Key"


class ErrorBody(Output):
    code: str
    """A stable machine-readable code (``insufficient_funds``, ``validation_error``, ...)."""
    message: str
    """What went wrong, for a human."""
    request_id: str
    """The request's id (also in the ``X-Request-Id`` header): quote it when reporting a bug."""
    details: dict[str, Any] | msgspec.UnsetType = msgspec.UNSET
    """Facts about the failure (``fields`` for validation errors, ``retry_after``, ...)."""


class ErrorResponse(Output):
    """Every error the API answers, whatever its status."""

    error: ErrorBody


ERROR_DESCRIPTIONS = {
    400: "Bad request: a required header is missing or the request cannot be read "
    "(`idempotency_key_required`, `invalid_signature`, ...).",
    401: "Not signed in, or the bearer token is invalid or expired "
    "(`not_authenticated`, `token_expired`, ...).",
    403: "Signed in but not allowed (`forbidden`, self-exclusion, frozen wallet, ...).",
    404: "The resource does not exist or is not visible to the caller (`not_found`).",
    409: "The request conflicts with the resource's current state "
    "(`pool_not_open`, `insufficient_funds`, `email_taken`, ...).",
    413: "The request body is larger than the server accepts (`payload_too_large`).",
    422: "The request is well formed but its values are invalid (`validation_error`, "
    "`stake_out_of_range`, ...); `details.fields` names each invalid field or parameter.",
    429: "Too many attempts (`rate_limited`); the `Retry-After` header says when to retry.",
    502: "An outside provider (e.g. Stripe) failed to answer (`payment_provider_unavailable`).",
    503: "A dependency (PostgreSQL, Redis) or a feature is unavailable right now "
    "(`service_unavailable`, `payments_not_configured`).",
}


def error_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """``responses=`` for a route handler: the error statuses it answers beyond the ones every
    operation of its kind gets (see :func:`complete_document`)."""
    return {
        status: ResponseSpec(
            data_container=ErrorResponse,
            description=ERROR_DESCRIPTIONS[status],
            generate_examples=False,
        )
        for status in statuses
    }


def docs_pages(assets: dict[str, str]) -> list[OpenAPIRenderPlugin]:
    """Swagger UI, with its scripts and styles served by the web process itself (`make web` copies
    them from the swagger-ui-dist npm package, see web/vite.config.ts): the docs work offline and
    load nothing from a CDN. (Redoc is not offered: its bundle fetches a logo from its CDN.)"""
    favicon = assets.get("swagger_favicon", "")
    icon = f"<link rel='icon' type='image/png' href='{favicon}'>" if favicon else ""
    return [
        SwaggerRenderPlugin(
            js_url=assets.get("swagger_js", "/assets/missing-swagger-ui-bundle.js"),
            css_url=assets.get("swagger_css", "/assets/missing-swagger-ui.css"),
            standalone_preset_js_url=assets.get(
                "swagger_preset_js", "/assets/missing-swagger-ui-standalone-preset.js"
            ),
            path=["/", "/swagger"],
            favicon=icon,
        ),
    ]


def openapi_config(
    title: str, version: str, path: str, assets: dict[str, str] | None = None
) -> OpenAPIConfig:
    return OpenAPIConfig(
        title=title,
        version=version,
        path=path,
        render_plugins=docs_pages(assets or {}),
        use_handler_docstrings=True,
        components=Components(
            security_schemes={
                BEARER: SecurityScheme(
                    type="http",
                    scheme="bearer",
                    bearer_format="JWT",
                    description="The `access_token` from `POST /api/v1/auth/register`, "
                    "`/login` or `/refresh`, sent as `Authorization: Bearer <token>`.",
                )
            }
        ),
    )


def complete_document(app: Litestar) -> OpenAPI:
    """Finish the app's OpenAPI document in place (it is built once and served as is):

    - ``security`` on each operation whose handler depends on a principal (optional for the
      handlers that take an ``optional_principal``);
    - the error statuses each operation can answer, all with the one error schema, in place of
      Litestar's default ``{status_code, detail}`` 400;
    - component schemas generated by msgspec from the same Structs that decode the requests and
      encode the responses, so constraints and ``additionalProperties: false`` are exact.
    """
    document = app.openapi_schema
    handlers: list[HTTPRouteHandler] = []
    for path, method, handler in _operations(app):
        path_item = document.paths.get(path) if document.paths else None
        operation = getattr(path_item, method.lower(), None) if path_item else None
        if isinstance(operation, Operation):
            handlers.append(handler)
            _describe(operation, handler, method)
    _use_msgspec_components(document, handlers)
    return document


def _operations(app: Litestar) -> Iterator[tuple[str, str, HTTPRouteHandler]]:
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for method, (handler, _) in route.route_handler_map.items():
            if handler.resolve_include_in_schema():
                yield route.path_format or "/", method, handler


def _dependency_names(handler: HTTPRouteHandler) -> set[str]:
    """Every parameter the handler asks for, directly or through its dependencies."""
    provided = handler.resolve_dependencies()
    names: set[str] = set()
    pending = list(handler.parsed_fn_signature.parameters)
    while pending:
        name = pending.pop()
        if name in names:
            continue
        names.add(name)
        if name in provided:
            pending.extend(provided[name].parsed_fn_signature.parameters)
    return names


def _describe(operation: Operation, handler: HTTPRouteHandler, method: str) -> None:
    names = _dependency_names(handler)
    security: list[SecurityRequirement] | None = None
    if PRINCIPAL in names:
        security = [{BEARER: []}]
    elif OPTIONAL_PRINCIPAL in names:
        security = [{}, {BEARER: []}]
    operation.security = security

    parameters = [p for p in operation.parameters or [] if not isinstance(p, Reference)]
    for parameter in parameters:
        if isinstance(parameter.schema, Schema):
            _integral_bounds(parameter.schema)
    takes_input = bool(parameters or operation.request_body)
    statuses = {503}
    if security is not None:
        statuses.add(401)
    if PRINCIPAL in names:
        statuses.add(403)
    if operation.request_body is not None or any(p.param_in == "path" for p in parameters):
        statuses.add(404)  # what the path or the body names (a channel, a user) may not exist
    if method not in ("GET", "HEAD", "OPTIONS"):
        statuses.add(409)
    if operation.request_body is not None:
        statuses.add(413)
    if takes_input:
        statuses.add(422)
    if any(p.param_in == "header" and p.name == IDEMPOTENCY_HEADER for p in parameters):
        statuses.add(400)

    responses = dict(operation.responses or {})
    declared = {str(status) for status in handler.responses or {}}
    if "400" not in declared:
        responses.pop("400", None)  # Litestar's ValidationException: ours answer 422
    for status in sorted(statuses):
        responses.setdefault(str(status), _error_response(status))
    operation.responses = dict(sorted(responses.items()))


def _integral_bounds(schema: Schema) -> None:
    """Litestar writes ``Parameter(ge=1, le=100)`` as ``1.0`` and ``100.0``: bounds of an
    integer are integers."""
    for name in ("minimum", "maximum", "exclusive_minimum", "exclusive_maximum"):
        value = getattr(schema, name)
        if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
            setattr(schema, name, int(value))


def _error_response(status: int) -> OpenAPIResponse:
    return OpenAPIResponse(
        description=ERROR_DESCRIPTIONS[status],
        content={
            "application/json": OpenAPIMediaType(
                schema=Reference(ref=f"#/components/schemas/{ErrorResponse.__name__}")
            )
        },
    )


def _use_msgspec_components(document: OpenAPI, handlers: Sequence[HTTPRouteHandler]) -> None:
    """Replace Litestar's rendering of our Structs with msgspec's own JSON Schema of them.

    Litestar drops constraints nested in containers and unions (``list[Annotated[str,
    Meta(min_length=1)]]``) and knows nothing of ``forbid_unknown_fields``; msgspec's schema
    is the one its decoder enforces."""
    types: list[Any] = [ErrorResponse]
    for handler in handlers:
        data = handler.parsed_fn_signature.parameters.get("data")
        if data is not None:
            types.append(data.annotation)
        types.append(handler.parsed_fn_signature.return_type.annotation)
        types.extend(spec.data_container for spec in (handler.responses or {}).values())
    _, components = msgspec.json.schema_components(
        [t for t in types if _is_msgspec_type(t)], ref_template="#/components/schemas/{name}"
    )
    schemas: dict[str, Any] = dict(document.components.schemas or {})
    for name, schema in components.items():
        if schema.get("required") == []:
            del schema["required"]
        schemas[name] = schema
    document.components.schemas = dict(sorted(schemas.items()))


def _is_msgspec_type(annotation: Any) -> bool:
    try:
        msgspec.json.schema(annotation)
    except (TypeError, ValueError):
        return False
    return True
