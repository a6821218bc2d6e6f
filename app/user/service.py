"""Reading and changing one's own account."""

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.errors import InvalidAccessToken
from app.models.user import User
from app.user.repository import user_repository
from app.user.schemas import UserProfile


def profile(user: User) -> UserProfile:
    return msgspec.convert(user, UserProfile, from_attributes=True)


class UserService:
    async def profile(self, session: AsyncSession, user_id: int) -> UserProfile:
        user = await user_repository.get(session, user_id)
        if user is None:  # the account was removed after the token was issued
            raise InvalidAccessToken()
        return profile(user)


user_service = UserService()
