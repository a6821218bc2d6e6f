"""/api/v1/channels/{channel_id}/overlay-keys: read-only keys for a channel's OBS overlays
(owner and moderators)."""

from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.status_codes import HTTP_201_CREATED
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.tokens import Principal
from app.kit.http import Id
from app.kit.resources import Resources
from app.overlay import schemas
from app.overlay.service import overlay_service


class OverlayKeyController(Controller):
    path = "/api/v1/channels/{channel_id:int}/overlay-keys"
    tags = ["overlays"]

    @get("")
    async def list_overlay_keys(
        self,
        channel_id: Id,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> schemas.OverlayKeyList:
        """The channel's overlay keys, revoked ones too, newest first (never the keys)."""
        return await overlay_service.list(session, principal, channel_id)

    @post("", status_code=HTTP_201_CREATED)
    async def create_overlay_key(
        self,
        channel_id: Id,
        data: JSONBody[schemas.OverlayKeyCreate],
        session: NamedDependency[AsyncSession],
        resources: NamedDependency[Resources],
        principal: NamedDependency[Principal],
    ) -> schemas.OverlayKeyCreated:
        """Make a read-only key for an OBS overlay of the channel, with the overlay's URL. The
        key is shown in this answer only; at most 20 unrevoked keys per channel."""
        return await overlay_service.create(session, resources, principal, channel_id, data)

    @delete("/{key_id:int}")
    async def revoke_overlay_key(
        self,
        channel_id: Id,
        key_id: Id,
        session: NamedDependency[AsyncSession],
        resources: NamedDependency[Resources],
        principal: NamedDependency[Principal],
    ) -> None:
        """Revoke a key (again: nothing changes). Overlays using it are disconnected."""
        await overlay_service.revoke(session, resources, principal, channel_id, key_id)
