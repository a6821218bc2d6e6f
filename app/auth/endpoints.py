"""/api/v1/auth: register, login, refresh, logout."""

from typing import Any

from litestar import Controller, Request, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import schemas
from app.auth.service import auth_service
from app.kit.http import client_address
from app.kit.openapi import error_responses
from app.kit.resources import Resources


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post("/register", status_code=HTTP_201_CREATED)
    async def register(
        self,
        data: JSONBody[schemas.Register],
        session: NamedDependency[AsyncSession],
        resources: NamedDependency[Resources],
        request: Request[Any, Any, Any],
    ) -> schemas.AuthSession:
        """Create an account and sign it in."""
        return await auth_service.register(session, resources, data, client_address(request))

    @post("/login", status_code=HTTP_200_OK, responses=error_responses(401, 429))
    async def login(
        self,
        data: JSONBody[schemas.Login],
        session: NamedDependency[AsyncSession],
        resources: NamedDependency[Resources],
        request: Request[Any, Any, Any],
    ) -> schemas.AuthSession:
        """Exchange email and password for an access token and a refresh token."""
        return await auth_service.login(session, resources, data, client_address(request))

    @post("/refresh", status_code=HTTP_200_OK, responses=error_responses(401))
    async def refresh(
        self,
        data: JSONBody[schemas.Refresh],
        session: NamedDependency[AsyncSession],
        resources: NamedDependency[Resources],
    ) -> schemas.AuthSession:
        """Rotate a refresh token: the old one stops working, a new pair is returned."""
        return await auth_service.refresh(session, resources, data.refresh_token)

    @post("/logout", status_code=HTTP_204_NO_CONTENT)
    async def logout(
        self,
        data: JSONBody[schemas.Logout],
        session: NamedDependency[AsyncSession],
        resources: NamedDependency[Resources],
    ) -> None:
        """Revoke this sign-in: its refresh tokens and access tokens stop working."""
        await auth_service.logout(session, resources, data.refresh_token)
