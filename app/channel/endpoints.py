"""/api/v1/channels: channels, platform links, moderators, membership and points grants."""

from datetime import UTC, datetime
from typing import Annotated

from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.tokens import Principal
from app.channel import schemas
from app.channel.service import channel_service
from app.kit.http import MAX_ID, Id, IdempotencyKey, require_key
from app.kit.resources import Resources
from app.platform.schemas import LinkStateList
from app.platform.service import platform_link_service


class StaffChannelController(Controller):
    path = "/api/v1/me/channels"
    tags = ["me"]

    @get("")
    async def my_channels(
        self, session: NamedDependency[AsyncSession], principal: NamedDependency[Principal]
    ) -> schemas.StaffChannelList:
        """The channels the caller owns or moderates, each with ``role`` (``owner`` or
        ``moderator``): owned first, then by name."""
        return await channel_service.staffed_by(session, principal)


class ChannelController(Controller):
    path = "/api/v1/channels"
    tags = ["channels"]

    @post("", status_code=HTTP_201_CREATED)
    async def create_channel(
        self,
        data: JSONBody[schemas.ChannelCreate],
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> schemas.Channel:
        """Create a channel owned by the caller. The slug is unique."""
        return await channel_service.create(session, principal, data)

    @get("/{channel_id:int}")
    async def get_channel(
        self, channel_id: Id, session: NamedDependency[AsyncSession]
    ) -> schemas.Channel:
        """A channel and its platform links (public)."""
        return await channel_service.get(session, channel_id)

    @get("/by-slug/{slug:str}")
    async def get_channel_by_slug(
        self, slug: FromPath[str], session: NamedDependency[AsyncSession]
    ) -> schemas.Channel:
        """A channel found by its slug (public)."""
        return await channel_service.get_by_slug(session, slug)

    @patch("/{channel_id:int}")
    async def update_channel(
        self,
        channel_id: Id,
        data: JSONBody[schemas.ChannelUpdate],
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> schemas.Channel:
        """The owner renames the channel; only an admin may turn cash pools on or off."""
        return await channel_service.update(session, principal, channel_id, data)

    # -- platform links ----------------------------------------------------------------------

    @get("/{channel_id:int}/links")
    async def list_links(
        self,
        channel_id: Id,
        session: NamedDependency[AsyncSession],
        resources: NamedDependency[Resources],
        principal: NamedDependency[Principal],
    ) -> LinkStateList:
        """The channel's platform links for its owner (as adding and removing one): the
        platform account that proved each (``login``, ``display_name``), its ``status``, and
        on a verified YouTube link ``quota_paused_until`` while the day's shared YouTube quota
        leaves no chat poll (chat betting on YouTube resumes then; bets on the web go on)."""
        return await platform_link_service.channel_links(
            session,
            resources.settings,
            resources.redis,
            principal,
            channel_id,
            datetime.now(UTC),
        )

    @post("/{channel_id:int}/links", status_code=HTTP_201_CREATED)
    async def add_link(
        self,
        channel_id: Id,
        data: JSONBody[schemas.LinkCreate],
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> schemas.Link:
        """The owner declares a Twitch, Kick or YouTube channel as theirs (unverified until
        platform sign-in). A platform channel can be linked to one channel only."""
        return await channel_service.add_link(session, principal, channel_id, data)

    @delete("/{channel_id:int}/links/{link_id:int}")
    async def remove_link(
        self,
        channel_id: Id,
        link_id: Id,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> None:
        """The owner removes a platform link."""
        await channel_service.remove_link(session, principal, channel_id, link_id)

    # -- moderators --------------------------------------------------------------------------

    @get("/{channel_id:int}/moderators")
    async def list_moderators(
        self,
        channel_id: Id,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> schemas.ModeratorList:
        """The channel's moderators (for its owner and moderators)."""
        return await channel_service.moderators(session, principal, channel_id)

    @get("/{channel_id:int}/members")
    async def find_members(
        self,
        channel_id: Id,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        q: Annotated[str, QueryParameter(min_length=1, max_length=80, pattern=r"\S")],
        limit: Annotated[int, QueryParameter(ge=1, le=50)] = 20,
    ) -> schemas.MemberMatchList:
        """Members of the channel whose display name contains ``q`` (any case), for its owner
        and moderators: the user ids to make moderators or grant points to. Display names
        only, members only."""
        return await channel_service.find_members(session, principal, channel_id, q, limit)

    @post("/{channel_id:int}/moderators", status_code=HTTP_201_CREATED)
    async def add_moderator(
        self,
        channel_id: Id,
        data: JSONBody[schemas.ModeratorAdd],
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> schemas.ModeratorList:
        """The owner makes a user a moderator (adding one twice changes nothing); answers
        with the moderators."""
        return await channel_service.add_moderator(session, principal, channel_id, data.user_id)

    @delete("/{channel_id:int}/moderators/{user_id:int}")
    async def remove_moderator(
        self,
        channel_id: Id,
        user_id: Id,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> None:
        """The owner removes a moderator."""
        await channel_service.remove_moderator(session, principal, channel_id, user_id)

    # -- members and points ------------------------------------------------------------------

    @post("/{channel_id:int}/join", status_code=HTTP_200_OK)
    async def join(
        self,
        channel_id: Id,
        session: NamedDependency[AsyncSession],
        resources: NamedDependency[Resources],
        principal: NamedDependency[Principal],
    ) -> schemas.Membership:
        """Join the channel. The first join credits the sign-up grant in the channel's
        points; joining again changes nothing."""
        return await channel_service.join(
            session, resources.settings, principal.user_id, channel_id
        )

    @get("/{channel_id:int}/members/me")
    async def my_membership(
        self,
        channel_id: Id,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> schemas.Membership:
        """The caller's membership and points balance."""
        return await channel_service.membership(session, principal.user_id, channel_id)

    @post("/{channel_id:int}/daily-bonus", status_code=HTTP_200_OK)
    async def claim_daily_bonus(
        self,
        channel_id: Id,
        session: NamedDependency[AsyncSession],
        resources: NamedDependency[Resources],
        principal: NamedDependency[Principal],
    ) -> schemas.Membership:
        """Claim the daily points bonus (members, once per 24 hours)."""
        return await channel_service.claim_daily_bonus(
            session, resources.settings, principal.user_id, channel_id
        )

    @post("/{channel_id:int}/grants", status_code=HTTP_201_CREATED)
    async def grant_points(
        self,
        channel_id: Id,
        data: JSONBody[schemas.GrantCreate],
        session: NamedDependency[AsyncSession],
        resources: NamedDependency[Resources],
        principal: NamedDependency[Principal],
        idempotency_key: IdempotencyKey,
    ) -> schemas.Grant:
        """The owner or a moderator grants a user points (``Idempotency-Key`` header
        required), capped per grant and audited."""
        return await channel_service.grant(
            session,
            resources.settings,
            principal,
            channel_id,
            data,
            require_key(idempotency_key),
        )

    @get("/{channel_id:int}/grants")
    async def list_grants(
        self,
        channel_id: Id,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        before: Annotated[int | None, QueryParameter(gt=0, le=MAX_ID)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> schemas.GrantList:
        """The owner reads the channel's points grants, newest first: who granted whom how
        much, why and when. Page with ``before`` (the previous page's ``next_before``)."""
        return await channel_service.grants(
            session, principal, channel_id, before=before, limit=limit
        )
