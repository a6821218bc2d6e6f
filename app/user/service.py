"""Reading and changing one's own account."""

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.errors import InvalidAccessToken
from app.auth.repository import user_repository
from app.auth.schemas import UserProfile
from app.auth.service import profile


class UserService:
    async def profile(self, session: AsyncSession, user_id: int) -> UserProfile:
        user = await user_repository.get(session, user_id)
        if user is None:  # the account was removed after the token was issued
            raise InvalidAccessToken()
        return profile(user)


user_service = UserService()
