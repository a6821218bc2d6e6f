"""SQL of accounts."""

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.user import Role, User


class UserRepository:
    async def get(self, session: AsyncSession, user_id: int) -> User | None:
        return await session.get(User, user_id)

    async def lock(self, session: AsyncSession, user_id: int) -> User | None:
        """Lock the user's row: serialises decisions about one user's money."""
        result = await session.execute(select(User).where(User.id == user_id).with_for_update())
        return result.scalar_one_or_none()

    async def get_by_email(self, session: AsyncSession, email: str) -> User | None:
        result = await session.execute(select(User).where(func.lower(User.email) == email.lower()))
        return result.scalar_one_or_none()

    async def admin_ids(self, session: AsyncSession) -> list[int]:
        result = await session.execute(
            select(User.id).where(User.role == Role.admin).order_by(User.id)
        )
        return list(result.scalars())

    async def create(
        self,
        session: AsyncSession,
        *,
        email: str | None,
        password_hash: str | None,
        display_name: str,
        role: Role = Role.user,
        chat_only: bool = False,
    ) -> User:
        user = User(email=email, password_hash=password_hash, display_name=display_name, role=role)
        if chat_only:
            user.chat_only = True
        session.add(user)
        await session.flush()
        return user

    async def email(self, session: AsyncSession, user_id: int) -> str | None:
        return await session.scalar(select(User.email).where(User.id == user_id))


user_repository = UserRepository()
