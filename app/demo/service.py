"""Seeds a small demo: a streamer with a channel and an open pool, two viewers who joined it,
and an admin, with known credentials; safe to run again. While developing, the worker opens a
fresh demo pool whenever none is open, and the channel has an overlay key of a known value."""

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
from app.overlay.service import overlay_service, overlay_url
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
#: The demo channel's overlay key: public, so seeded only while developing (never in test or
#: production databases).
DEMO_OVERLAY_KEY = "ovk_demo_overlay_key_for_local_use_only"
DEMO_OVERLAY_LABEL = "Demo overlay"


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
        if self.seeds_overlay_key(resources.settings):
            await overlay_service.seed(
                session, channel_id, ids[STREAMER.email], DEMO_OVERLAY_KEY, DEMO_OVERLAY_LABEL
            )
        await self.reopen(session, resources)
        return list(DEMO_ACCOUNTS)

    def keeps_pool_open(self, settings: Settings) -> bool:
        """Whether the worker keeps a demo pool open: in development, with the demo on."""
        return settings.env == "development" and settings.demo_enabled

    def seeds_overlay_key(self, settings: Settings) -> bool:
        """Whether the seed gives the demo channel ``DEMO_OVERLAY_KEY``: where it keeps a pool
        open, in development only."""
        return self.keeps_pool_open(settings)

    def overlay_url(self, settings: Settings) -> str | None:
        """The demo channel's overlay page with its key, when the seed makes that key."""
        if not self.seeds_overlay_key(settings):
            return None
        return overlay_url(settings, DEMO_CHANNEL, DEMO_OVERLAY_KEY)

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
