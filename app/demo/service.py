"""Seeds a small demo: a streamer with a channel and an open pool, two viewers who joined it,
and an admin, with known credentials; safe to run again. While developing, the worker opens a
fresh demo pool whenever none is open."""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.service import passwords
from app.auth.tokens import Principal
from app.channel import schemas as channel_schemas
from app.channel.repository import channel_repository
from app.channel.service import channel_service
from app.demo.repository import demo_repository
from app.kit.resources import Resources
from app.models.pool import PoolStatus
from app.models.user import Role
from app.pool import schemas as pool_schemas
from app.pool.lifecycle import pool_lifecycle
from app.pool.repository import pool_repository
from app.settings import Settings
from app.user.repository import user_repository


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
        await self.reopen(session, resources)
        return list(DEMO_ACCOUNTS)

    def keeps_pool_open(self, settings: Settings) -> bool:
        """Whether the worker keeps a demo pool open: in development, with the demo on."""
        return settings.env == "development" and settings.demo_enabled

    async def reopen(self, session: AsyncSession, resources: Resources) -> int | None:
        """Open a new demo pool unless one is open (the last one was locked, resolved or
        cancelled); the new pool's id, or None. Does nothing before the demo is seeded."""
        channel = await demo_repository.channel_for_update(session, DEMO_CHANNEL)
        if channel is None:
            return None
        if await pool_repository.list_for_channel(session, channel.id, [PoolStatus.open]):
            return None
        streamer = Principal(channel.owner_id, Role.user)
        pool = await pool_lifecycle.create(
            session,
            resources,
            streamer,
            pool_schemas.PoolCreate(
                channel_id=channel.id,
                title="Will the boss fall on the first try?",
                outcomes=["First try", "Two or three", "Four or more"],
                max_stake=500,
                window_seconds=24 * 3600,
            ),
        )
        return pool.id


demo_service = DemoService()
