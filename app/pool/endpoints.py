"""/api/v1/pools (create, read, transitions, bets) and a channel's pools and templates."""

from typing import Annotated, Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.tokens import Principal
from app.kit.http import Id, IdempotencyKey, require_key
from app.kit.resources import Resources
from app.models.pool import PoolStatus
from app.pool import schemas
from app.pool.betting import pool_betting
from app.pool.lifecycle import pool_lifecycle
from app.pool.public import PublicPools, not_modified
from app.pool.templates import pool_templates
from app.pool.views import pool_views


class PoolController(Controller):
    path = "/api/v1/pools"
    tags = ["pools"]

    @post("", status_code=HTTP_201_CREATED)
    async def create_pool(
        self,
        data: JSONBody[schemas.PoolCreate],
        session: NamedDependency[AsyncSession],
        resources: NamedDependency[Resources],
        principal: NamedDependency[Principal],
    ) -> schemas.Pool:
        """Create a pool in a channel you own or moderate: open at once, or a draft."""
        return await pool_lifecycle.create(session, resources, principal, data)

    @get(
        "/{pool_id:int}",
        responses={
            200: ResponseSpec(schemas.Pool, description="The pool.", generate_examples=False),
            304: ResponseSpec(
                None, description="Unchanged since the `ETag` sent in `If-None-Match`."
            ),
        },
    )
    async def get_pool(
        self,
        request: Request[Any, Any, Any],
        pool_id: Id,
        session: NamedDependency[AsyncSession],
        resources: NamedDependency[Resources],
        optional_principal: NamedDependency[Principal | None],
    ) -> Response[Any]:
        """A pool with live totals, bettors and multipliers per outcome (and your position).
        A draft is shown only to its channel's owner and moderators (404 to anyone else).
        Read anonymously, it carries an `ETag` (send it back in `If-None-Match`: 304 while
        nothing changed) and its totals may be up to one update interval old, like the live
        totals pushed over Socket.IO; `Cache-Control: no-cache` reads them at the source."""
        if optional_principal is None:
            pools: PublicPools = request.app.state["public_pools"]
            revalidate = "no-cache" in request.headers.get("cache-control", "")
            view = await pools.view(pool_id, revalidate=revalidate)
            headers = {"ETag": view.etag.decode(), "Cache-Control": "no-cache"}
            if not_modified(view, request.headers.get("if-none-match", "").encode() or None):
                return Response(b"", status_code=304, headers=headers)
            return Response(view.body, media_type=MediaType.JSON, headers=headers)
        return Response(
            await pool_views.read(session, resources.redis, pool_id, optional_principal)
        )

    @get("/{pool_id:int}/winners")
    async def get_winners(
        self,
        pool_id: Id,
        session: NamedDependency[AsyncSession],
        optional_principal: NamedDependency[Principal | None],
        limit: Annotated[int, QueryParameter(ge=1, le=50)] = 5,
    ) -> schemas.Winners:
        """A settled pool's largest payouts with the winners' display names, largest first
        (empty before settlement and for a refunded pool): what an overlay shows."""
        return await pool_views.winners(session, pool_id, optional_principal, limit)

    @post("/{pool_id:int}/open", status_code=HTTP_200_OK)
    async def open_pool(
        self,
        pool_id: Id,
        session: NamedDependency[AsyncSession],
        resources: NamedDependency[Resources],
        principal: NamedDependency[Principal],
    ) -> schemas.Pool:
        """Open a draft for betting."""
        return await pool_lifecycle.open(session, resources, principal, pool_id)

    @post("/{pool_id:int}/lock", status_code=HTTP_200_OK)
    async def lock_pool(
        self,
        pool_id: Id,
        session: NamedDependency[AsyncSession],
        resources: NamedDependency[Resources],
        principal: NamedDependency[Principal],
    ) -> schemas.Pool:
        """Stop betting."""
        return await pool_lifecycle.lock(session, resources, principal, pool_id)

    @post("/{pool_id:int}/resolve", status_code=HTTP_200_OK)
    async def resolve_pool(
        self,
        pool_id: Id,
        data: JSONBody[schemas.Resolve],
        session: NamedDependency[AsyncSession],
        resources: NamedDependency[Resources],
        principal: NamedDependency[Principal],
    ) -> schemas.Pool:
        """Name the winning outcome of a locked pool; winners are paid by a job."""
        return await pool_lifecycle.resolve(session, resources, principal, pool_id, data.outcome_id)

    @post("/{pool_id:int}/cancel", status_code=HTTP_200_OK)
    async def cancel_pool(
        self,
        pool_id: Id,
        session: NamedDependency[AsyncSession],
        resources: NamedDependency[Resources],
        principal: NamedDependency[Principal],
    ) -> schemas.Pool:
        """Call the pool off: every stake is refunded."""
        return await pool_lifecycle.cancel(session, resources, principal, pool_id)

    @get("/{pool_id:int}/bets")
    async def list_bets(
        self,
        pool_id: Id,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        cursor: Annotated[str | None, QueryParameter(max_length=32)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> schemas.PoolBetPage:
        """The pool's bettors (display name, outcome, stake, payout, when), newest first, for
        the channel's owner and moderators. Pass ``next_cursor`` back as ``cursor`` for the
        next page. A draft reads as missing (404) to anyone else, as the pool itself does."""
        return await pool_views.bets(session, pool_id, principal, cursor, limit)

    @post("/{pool_id:int}/bets", status_code=HTTP_201_CREATED)
    async def place_bet(
        self,
        pool_id: Id,
        data: JSONBody[schemas.BetCreate],
        resources: NamedDependency[Resources],
        principal: NamedDependency[Principal],
        idempotency_key: IdempotencyKey,
    ) -> schemas.BetPlaced:
        """Stake on an outcome (``Idempotency-Key`` header required). More stake on the same
        outcome adds to your position."""
        return await pool_betting.bet(
            resources, principal.user_id, pool_id, data, require_key(idempotency_key)
        )


class ChannelPoolController(Controller):
    path = "/api/v1/channels/{channel_id:int}"
    tags = ["channels"]

    @get("/pools")
    async def list_pools(
        self,
        channel_id: Id,
        session: NamedDependency[AsyncSession],
        resources: NamedDependency[Resources],
        optional_principal: NamedDependency[Principal | None],
        status: Annotated[list[PoolStatus] | None, QueryParameter()] = None,
    ) -> schemas.PoolList:
        """The channel's pools, newest first; filter with ``status`` (repeatable). Drafts are
        listed only to the channel's owner and moderators."""
        return await pool_views.list_for_channel(
            session, resources.redis, channel_id, status, optional_principal
        )

    @post("/templates", status_code=HTTP_201_CREATED)
    async def create_template(
        self,
        channel_id: Id,
        data: JSONBody[schemas.TemplateCreate],
        session: NamedDependency[AsyncSession],
        resources: NamedDependency[Resources],
        principal: NamedDependency[Principal],
    ) -> schemas.Template:
        """Save a pool template (title, outcomes, window, stakes)."""
        return await pool_templates.create_template(
            session, resources.settings, principal, channel_id, data
        )

    @get("/templates")
    async def list_templates(
        self,
        channel_id: Id,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> schemas.TemplateList:
        return await pool_templates.templates(session, principal, channel_id)

    @post("/templates/{template_id:int}/open", status_code=HTTP_201_CREATED)
    async def open_template(
        self,
        channel_id: Id,
        template_id: Id,
        session: NamedDependency[AsyncSession],
        resources: NamedDependency[Resources],
        principal: NamedDependency[Principal],
    ) -> schemas.Pool:
        """Open a pool from a template in one call."""
        return await pool_templates.open_template(
            session, resources, principal, channel_id, template_id
        )
