"""Seeds a small demo (a streamer and a viewer with known credentials); safe to run again."""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.repository import user_repository
from app.auth.service import passwords
from app.kit.resources import Resources
from app.models.user import Role


@dataclass(frozen=True)
class DemoAccount:
    email: str
    password: str
    display_name: str
    role: Role = Role.user


DEMO_ACCOUNTS = (
    DemoAccount("streamer@demo.streampools.dev", "demo-streamer-pass", "DemoStreamer"),
    DemoAccount("viewer@demo.streampools.dev", "demo-viewer-pass", "DemoViewer"),
    DemoAccount("admin@demo.streampools.dev", "demo-admin-pass", "DemoAdmin", Role.admin),
)


class DemoService:
    async def seed(self, session: AsyncSession, resources: Resources) -> list[DemoAccount]:
        hasher = passwords(resources.settings)
        for account in DEMO_ACCOUNTS:
            if await user_repository.get_by_email(session, account.email) is None:
                await user_repository.create(
                    session,
                    email=account.email,
                    password_hash=hasher.hash(account.password),
                    display_name=account.display_name,
                    role=account.role,
                )
        return list(DEMO_ACCOUNTS)


demo_service = DemoService()
