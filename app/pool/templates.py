"""Pool templates: a channel's saved pool settings, opened as a pool in one call."""

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.tokens import Principal
from app.channel.permissions import channel_or_404, require_staff
from app.kit.errors import InvalidInput, NotFound
from app.kit.resources import Resources
from app.models.pool import PoolTemplate
from app.pool import schemas
from app.pool.errors import RakeTooHigh
from app.pool.lifecycle import pool_lifecycle
from app.pool.repository import pool_repository
from app.settings import Settings


def template_view(template: PoolTemplate) -> schemas.Template:
    return schemas.Template(
        id=template.id,
        channel_id=template.channel_id,
        name=template.name,
        title=template.title,
        outcomes=list(template.outcomes),
        currency=template.currency_kind,
        window_seconds=template.window_seconds,
        min_stake=template.min_stake,
        max_stake=template.max_stake,
        rake_bps=template.rake_bps,
    )


class TemplateService:
    async def create_template(
        self,
        session: AsyncSession,
        settings: Settings,
        actor: Principal,
        channel_id: int,
        data: schemas.TemplateCreate,
    ) -> schemas.Template:
        channel = await channel_or_404(session, channel_id)
        await require_staff(session, channel, actor)
        labels = [label.strip() for label in data.outcomes]
        if len({label.casefold() for label in labels}) != len(labels):
            raise InvalidInput("outcomes", "labels must be distinct")
        if data.max_stake < data.min_stake:
            raise InvalidInput("max_stake", "must be at least min_stake")
        if data.currency == "points" and data.rake_bps:
            raise RakeTooHigh(0)
        if data.rake_bps is not None and data.rake_bps > settings.cash_rake_bps_cap:
            raise RakeTooHigh(settings.cash_rake_bps_cap)
        if await self._template_named(session, channel_id, data.name):
            raise InvalidInput("name", "a template of this channel already has this name")
        template = PoolTemplate(
            channel_id=channel_id,
            name=data.name.strip(),
            title=data.title.strip(),
            outcomes=labels,
            currency_kind=data.currency,
            window_seconds=data.window_seconds,
            min_stake=data.min_stake,
            max_stake=data.max_stake,
            rake_bps=data.rake_bps,
        )
        try:
            async with session.begin_nested():
                await pool_repository.add(session, template)
        except IntegrityError as error:  # the same name, created concurrently
            raise InvalidInput(
                "name", "a template of this channel already has this name"
            ) from error
        return template_view(template)

    async def _template_named(self, session: AsyncSession, channel_id: int, name: str) -> bool:
        return any(
            t.name.casefold() == name.strip().casefold()
            for t in await pool_repository.templates(session, channel_id)
        )

    async def templates(
        self, session: AsyncSession, actor: Principal, channel_id: int
    ) -> schemas.TemplateList:
        channel = await channel_or_404(session, channel_id)
        await require_staff(session, channel, actor)
        return schemas.TemplateList(
            templates=[
                template_view(t) for t in await pool_repository.templates(session, channel_id)
            ]
        )

    async def open_template(
        self,
        session: AsyncSession,
        resources: Resources,
        actor: Principal | None,
        channel_id: int,
        template_id: int,
    ) -> schemas.Pool:
        """Open a pool from a saved template in one call."""
        template = await pool_repository.template(session, template_id)
        if template is None or template.channel_id != channel_id:
            raise NotFound("No such template in this channel.")
        data = schemas.PoolCreate(
            channel_id=channel_id,
            title=template.title,
            outcomes=list(template.outcomes),
            currency="cash" if template.currency_kind == "cash" else "points",
            min_stake=template.min_stake,
            max_stake=template.max_stake,
            rake_bps=template.rake_bps,
            window_seconds=template.window_seconds,
        )
        return await pool_lifecycle.create(session, resources, actor, data)


pool_templates = TemplateService()
