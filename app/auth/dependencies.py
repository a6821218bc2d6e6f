"""Who is calling: the principal behind the request's bearer token."""

from typing import Any

from litestar import Request
from litestar.datastructures import State

from app.auth.service import auth_service
from app.auth.tokens import Principal
from app.kit.errors import NotAuthenticated
from app.kit.http import resources_of


def bearer_token(request: Request[Any, Any, Any]) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def provide_principal(request: Request[Any, Any, Any], state: State) -> Principal:
    token = bearer_token(request)
    if token is None:
        raise NotAuthenticated()
    principal, _ = await auth_service.authenticate(resources_of(state), token)
    return principal


async def provide_optional_principal(
    request: Request[Any, Any, Any], state: State
) -> Principal | None:
    token = bearer_token(request)
    if token is None:
        return None
    principal, _ = await auth_service.authenticate(resources_of(state), token)
    return principal
