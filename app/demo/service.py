"""Seeds a small demo: a streamer with a channel and an open pool, two viewers who joined it,
and an admin, with known credentials; safe to run again (a fresh pool when none is open)."""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.repository import user_repository
from app.auth.service import passwords
from app.auth.tokens import Principal
from app.channel import schemas as channel_schemas
from app.channel.repository import channel_repository
from app.channel.service import channel_service
from app.kit.resources import Resources
from app.models.pool import PoolStatus
from app.models.user import Role
from app.pool import schemas as pool_schemas
from app.pool.repository import pool_repository
from app.pool.service import pool_service


@dataclass(frozen=True)
class DemoAccount:
    email: str
    password: str
    display_name: str
    role: Role = Role.user


STREAMER = DemoAccount("streamer@demo.streampools.dev", "demo-streamer-pass", "DemoStreamer")
VIEWERS = (
    DemoAccount("viewer@demo.streampools.dev", "demo-viewer-pass", "DemoViewer"),
    DemoAccount("viewer2@demo.streampools.dev", "demo-viewer2-pass", "DemoViewer2"),
)
ADMIN = DemoAccount("admin@demo.streampools.dev", "demo-admin-pass", "DemoAdmin", Role.admin)
DEMO_ACCOUNTS = (STREAMER, *VIEWERS, ADMIN)
DEMO_CHANNEL = "demo"


class DemoService:
    async def seed(self, session: AsyncSession, resources: Resources) -> list[DemoAccount]:
        hasher = passwords(resources.settings)
        ids: dict[str, int] = {}
        for account in DEMO_ACCOUNTS:
            user = await user_repository.get_by_email(session, account.email)
            if user is None:
                user = await user_repository.create(
                    session,
                    email=account.email,
                    password_hash=await hasher.hash(account.password),
                    display_name=account.display_name,
                    role=account.role,
                )
            ids[account.email] = user.id
        streamer = Principal(ids[STREAMER.email], Role.user)
        channel = await channel_repository.get_by_slug(session, DEMO_CHANNEL)
        if channel is None:
            created = await channel_service.create(
                session,
                streamer,
                channel_schemas.ChannelCreate(slug=DEMO_CHANNEL, name="Demo boss fights"),
            )
            channel_id = created.id
        else:
            channel_id = channel.id
        for viewer in VIEWERS:
            await channel_service.join(session, resources.settings, ids[viewer.email], channel_id)
        await self._open_pool(session, resources, streamer, channel_id)
        return list(DEMO_ACCOUNTS)

    async def _open_pool(
        self, session: AsyncSession, resources: Resources, streamer: Principal, channel_id: int
    ) -> None:
        if await pool_repository.list_for_channel(session, channel_id, [PoolStatus.open]):
            return
        await pool_service.create(
            session,
            resources,
            streamer,
            pool_schemas.PoolCreate(
                channel_id=channel_id,
                title="Will the boss fall on the first try?",
                outcomes=["First try", "Two or three", "Four or more"],
                max_stake=500,
                window_seconds=24 * 3600,
            ),
        )


demo_service = DemoService()
