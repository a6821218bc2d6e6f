"""/api/v1/me: the signed-in user's own account."""

from litestar import Controller, get
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.tokens import Principal
from app.user.schemas import UserProfile
from app.user.service import user_service


class MeController(Controller):
    path = "/api/v1/me"
    tags = ["me"]

    @get("")
    async def me(
        self, session: NamedDependency[AsyncSession], principal: NamedDependency[Principal]
    ) -> UserProfile:
        """The caller's profile."""
        return await user_service.profile(session, principal.user_id)
