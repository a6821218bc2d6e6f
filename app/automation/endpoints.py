"""/api/v1/channels/{channel_id}/automations: a channel's automation rules (owner and
moderators)."""

from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.status_codes import HTTP_201_CREATED
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.tokens import Principal
from app.automation import schemas
from app.automation.service import automation_service
from app.kit.http import Id


class AutomationController(Controller):
    path = "/api/v1/channels/{channel_id:int}/automations"
    tags = ["automations"]

    @get("")
    async def list_automations(
        self,
        channel_id: Id,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> schemas.AutomationList:
        """The channel's automation rules."""
        return await automation_service.list(session, principal, channel_id)

    @post("", status_code=HTTP_201_CREATED)
    async def create_automation(
        self,
        channel_id: Id,
        data: JSONBody[schemas.AutomationCreate],
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> schemas.Automation:
        """Add a rule: open a template's pool when the stream starts (after a delay), lock or
        cancel open pools when it ends, or mirror Twitch predictions."""
        return await automation_service.create(session, principal, channel_id, data)

    @patch("/{rule_id:int}")
    async def update_automation(
        self,
        channel_id: Id,
        rule_id: Id,
        data: JSONBody[schemas.AutomationUpdate],
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> schemas.Automation:
        """Change a rule's template, delay, offline action, or turn it on or off."""
        return await automation_service.update(session, principal, channel_id, rule_id, data)

    @delete("/{rule_id:int}")
    async def delete_automation(
        self,
        channel_id: Id,
        rule_id: Id,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> None:
        """Remove a rule."""
        await automation_service.delete(session, principal, channel_id, rule_id)
