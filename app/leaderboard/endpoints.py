"""/api/v1/channels/{id}/leaderboard."""

from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromQuery, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.currency import PATTERN
from app.kit.http import Id
from app.kit.resources import Resources
from app.leaderboard import schemas
from app.leaderboard.service import leaderboard_service

CURRENCY = PATTERN


class LeaderboardController(Controller):
    path = "/api/v1/channels/{channel_id:int}/leaderboard"
    tags = ["channels"]

    @get("")
    async def leaderboard(
        self,
        channel_id: Id,
        currency: Annotated[str, QueryParameter(pattern=CURRENCY)],
        read_session: NamedDependency[AsyncSession],
        resources: NamedDependency[Resources],
        period: FromQuery[schemas.Period] = "all",
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 10,
    ) -> schemas.Leaderboard:
        """Top players by net winnings (with their win counts), all-time or the last 7 or 30
        days."""
        return await leaderboard_service.read(
            read_session, resources.redis, channel_id, currency, period, limit
        )
