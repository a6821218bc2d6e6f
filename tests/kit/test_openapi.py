"""The OpenAPI document says what the API does: who signs in, how errors look, which statuses
each operation answers, which inputs are refused; and the API answers as it says."""

from typing import Any

import httpx
import pytest

from app.asgi import create_http_app
from app.kit.http import MAX_ID
from app.settings import Settings
from tests.factories import bearer, register

Client = httpx.AsyncClient
Document = dict[str, Any]
METHODS = ("get", "put", "post", "delete", "patch")


@pytest.fixture(scope="module")
def document() -> Document:
    """The document as the app builds it (no database needed to describe the API)."""
    schema: Document = create_http_app(Settings()).openapi_schema.to_schema()
    return schema


def operations(document: Document) -> list[tuple[str, str, Document]]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def operation(document: Document, method: str, path: str) -> Document:
    found: Document = document["paths"][path][method.lower()]
    return found


def resolve(document: Document, schema: Document) -> Document:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


async def test_the_served_document_is_the_completed_one(client: Client) -> None:
    served = (await client.get("/schema/openapi.json")).json()
    assert "BearerToken" in served["components"]["securitySchemes"]
    assert "ErrorResponse" in served["components"]["schemas"]


def test_a_bearer_jwt_scheme_is_declared(document: Document) -> None:
    assert document["components"]["securitySchemes"]["BearerToken"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": document["components"]["securitySchemes"]["BearerToken"]["description"],
    }


def test_operations_that_need_a_caller_declare_security_and_anonymous_ones_do_not(
    document: Document,
) -> None:
    signed_in: list[dict[str, list[str]]] = [{"BearerToken": []}]
    assert operation(document, "GET", "/api/v1/me")["security"] == signed_in
    assert operation(document, "POST", "/api/v1/pools/{pool_id}/bets")["security"] == signed_in
    assert operation(document, "GET", "/api/v1/payments/deposits")["security"] == signed_in
    # a pool is public, and shows the caller's own position when signed in
    assert operation(document, "GET", "/api/v1/pools/{pool_id}")["security"] == [{}, *signed_in]
    for method, path in [
        ("POST", "/api/v1/auth/register"),
        ("POST", "/api/v1/auth/login"),
        ("GET", "/healthz"),
        ("GET", "/api/v1/channels/{channel_id}/leaderboard"),
        ("POST", "/webhooks/stripe"),
    ]:
        assert "security" not in operation(document, method, path), (method, path)


def test_every_error_response_has_the_shape_the_api_sends(document: Document) -> None:
    error = document["components"]["schemas"]["ErrorResponse"]
    assert error["required"] == ["error"]
    body = resolve(document, error["properties"]["error"])
    assert set(body["properties"]) == {"code", "message", "request_id", "details"}
    assert sorted(body["required"]) == ["code", "message", "request_id"]
    for method, path, op in operations(document):
        for status, response in op["responses"].items():
            if int(status) >= 400 and path != "/readyz":
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, (
                    method,
                    path,
                    status,
                )
    assert "status_code" not in str(document["paths"])
    # the readiness probe answers its checks, whatever the status
    readyz = operation(document, "GET", "/readyz")["responses"]
    assert readyz["503"]["content"] == readyz["200"]["content"]


def test_each_operation_declares_the_errors_it_can_answer(document: Document) -> None:
    def statuses(method: str, path: str) -> set[int]:
        return {int(s) for s in operation(document, method, path)["responses"] if int(s) >= 400}

    assert statuses("POST", "/api/v1/pools/{pool_id}/bets") == {
        400, 401, 403, 404, 409, 413, 422, 503
    }  # fmt: skip
    assert statuses("GET", "/api/v1/me") == {401, 403, 503}
    assert statuses("GET", "/healthz") == {503}
    assert statuses("GET", "/api/v1/channels/{channel_id}/leaderboard") == {404, 422, 503}
    assert {401, 429} <= statuses("POST", "/api/v1/auth/login")
    assert 400 in statuses("POST", "/webhooks/stripe")
    for method, path, _ in operations(document):
        assert 503 in statuses(method, path), (method, path)


def test_idempotency_key_is_a_required_header_where_money_moves(document: Document) -> None:
    for path in [
        "/api/v1/pools/{pool_id}/bets",
        "/api/v1/payments/withdrawals",
        "/api/v1/channels/{channel_id}/grants",
    ]:
        headers = [
            p for p in operation(document, "POST", path)["parameters"] if p["in"] == "header"
        ]
        assert headers == [
            {
                "name": "Idempotency-Key",
                "in": "header",
                "schema": {"type": "string", "maxLength": 255, "minLength": 1},
                "required": True,
                "deprecated": False,
            }
        ], path


def test_request_bodies_refuse_unknown_fields_in_the_document_too(document: Document) -> None:
    bodies = [
        (method, path, op["requestBody"]["content"]["application/json"]["schema"])
        for method, path, op in operations(document)
        if "requestBody" in op
    ]
    assert len(bodies) > 15
    for method, path, schema in bodies:
        assert resolve(document, schema)["additionalProperties"] is False, (method, path)


def test_constraints_inside_lists_and_optional_fields_are_documented(document: Document) -> None:
    pool = document["components"]["schemas"]["PoolCreate"]
    assert pool["properties"]["outcomes"]["items"]["minLength"] == 1
    days = document["components"]["schemas"]["SelfExclusionRequest"]["properties"]["days"]
    assert {"type": "integer", "minimum": 1, "maximum": 3650} in days["anyOf"]


def test_path_ids_are_bounded_to_what_the_database_holds(document: Document) -> None:
    ids = [
        (method, path, p["schema"])
        for method, path, op in operations(document)
        for p in op.get("parameters", [])
        if p["in"] == "path" and p["name"].endswith("_id")
    ]
    assert len(ids) > 25
    for method, path, schema in ids:
        assert schema["type"] == "integer", (method, path)
        assert schema["minimum"] == 1, (method, path)
        assert schema["maximum"] == MAX_ID == 2**63 - 1, (method, path)
    leaderboard = operation(document, "GET", "/api/v1/channels/{channel_id}/leaderboard")
    limit = next(p for p in leaderboard["parameters"] if p["name"] == "limit")
    assert repr((limit["schema"]["minimum"], limit["schema"]["maximum"])) == "(1, 100)"


def test_deposits_are_listed_in_an_object_like_every_list(document: Document) -> None:
    response = operation(document, "GET", "/api/v1/payments/deposits")["responses"]["200"]
    listed = resolve(document, response["content"]["application/json"]["schema"])
    assert listed["type"] == "object"
    assert listed["properties"]["deposits"]["type"] == "array"


async def test_ids_out_of_range_are_refused_as_documented(client: Client) -> None:
    for pool_id in (0, 2**63):
        response = await client.get(f"/api/v1/pools/{pool_id}")
        assert response.status_code == 422
        assert response.json()["error"]["details"]["fields"][0]["field"] == "pool_id"
    assert (await client.get(f"/api/v1/pools/{MAX_ID}")).status_code == 404


async def test_an_undeclared_method_is_405_naming_the_allowed_ones(client: Client) -> None:
    response = await client.request("TRACE", "/api/v1/payments/deposits")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert set(response.headers["allow"].split(", ")) == {"GET", "POST", "OPTIONS"}


async def test_options_lists_every_method_of_the_path(client: Client) -> None:
    for path, methods in [
        ("/api/v1/payments/deposits", {"GET", "POST", "OPTIONS"}),
        ("/api/v1/channels/1", {"GET", "PATCH", "OPTIONS"}),
        ("/api/v1/channels/1/moderators", {"GET", "POST", "OPTIONS"}),
    ]:
        response = await client.options(path)
        assert response.status_code == 204
        assert set(response.headers["allow"].split(", ")) == methods, path


async def test_a_missing_or_blank_idempotency_key_keeps_its_own_error(client: Client) -> None:
    auth = bearer((await register(client))["access_token"])
    for headers in [auth, {**auth, "Idempotency-Key": ""}]:
        response = await client.post(
            "/api/v1/pools/1/bets", json={"outcome_id": 1, "amount": 10}, headers=headers
        )
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "idempotency_key_required"
        assert "Idempotency-Key" in response.json()["error"]["message"]


async def test_a_missing_query_parameter_is_named(client: Client) -> None:
    response = await client.get("/api/v1/channels/1/leaderboard")
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["message"] == "currency: the query parameter is required"
    assert error["details"]["fields"] == [
        {"field": "currency", "message": "the query parameter is required"}
    ]
    assert "JSON" not in error["message"]
