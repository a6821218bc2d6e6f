"""SQL for accounts and refresh tokens."""

import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.user import RefreshToken, Role, User


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
    ) -> User:
        user = User(email=email, password_hash=password_hash, display_name=display_name, role=role)
        session.add(user)
        await session.flush()
        return user


class RefreshTokenRepository:
    async def get_for_update(self, session: AsyncSession, token_hash: bytes) -> RefreshToken | None:
        result = await session.execute(
            select(RefreshToken).where(RefreshToken.token_hash == token_hash).with_for_update()
        )
        return result.scalar_one_or_none()

    async def get(self, session: AsyncSession, token_hash: bytes) -> RefreshToken | None:
        result = await session.execute(
            select(RefreshToken).where(RefreshToken.token_hash == token_hash)
        )
        return result.scalar_one_or_none()

    async def create(
        self,
        session: AsyncSession,
        *,
        user_id: int,
        family_id: uuid.UUID,
        token_hash: bytes,
        expires_at: datetime,
    ) -> RefreshToken:
        token = RefreshToken(
            user_id=user_id, family_id=family_id, token_hash=token_hash, expires_at=expires_at
        )
        session.add(token)
        await session.flush()
        return token

    async def revoke_family(self, session: AsyncSession, family_id: uuid.UUID) -> None:
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=func.now())
        )

    async def delete_expired(self, session: AsyncSession) -> int:
        result = await session.execute(
            delete(RefreshToken).where(RefreshToken.expires_at < func.now() - timedelta(days=1))
        )
        return int(getattr(result, "rowcount", 0) or 0)


user_repository = UserRepository()
refresh_token_repository = RefreshTokenRepository()
