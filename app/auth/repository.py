"""SQL of refresh tokens."""

import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.user import RefreshToken


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


refresh_token_repository = RefreshTokenRepository()
