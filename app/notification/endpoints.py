"""/api/v1/me/notifications, /me/notification-preferences and /me/devices: the caller's inbox,
what reaches their devices, and the devices themselves."""

from typing import Annotated

from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.tokens import Principal
from app.kit.http import Id
from app.notification import schemas
from app.notification.service import notification_service


class NotificationController(Controller):
    path = "/api/v1/me"
    tags = ["me"]

    @get("/notifications")
    async def list_notifications(
        self,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        cursor: Annotated[str | None, Parameter(max_length=32)] = None,
        limit: Annotated[int, Parameter(ge=1, le=100)] = 20,
    ) -> schemas.NotificationPage:
        """Your notifications, newest first, with how many are unread. Pass ``next_cursor``
        back as ``cursor`` for the next page."""
        return await notification_service.page(session, principal.user_id, cursor, limit)

    @post("/notifications/{notification_id:int}/read", status_code=HTTP_200_OK)
    async def mark_notification_read(
        self,
        notification_id: Id,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> schemas.Notification:
        """Mark one notification read (again: nothing changes)."""
        return await notification_service.mark_read(session, principal.user_id, notification_id)

    @post("/notifications/read-all", status_code=HTTP_200_OK)
    async def mark_all_notifications_read(
        self, session: NamedDependency[AsyncSession], principal: NamedDependency[Principal]
    ) -> schemas.ReadAll:
        """Mark every notification read."""
        return await notification_service.mark_all_read(session, principal.user_id)

    @get("/notification-preferences")
    async def notification_preferences(
        self, session: NamedDependency[AsyncSession], principal: NamedDependency[Principal]
    ) -> schemas.Preferences:
        """Push on or off per kind, quiet hours and their time zone."""
        return await notification_service.preferences(session, principal.user_id)

    @put("/notification-preferences")
    async def update_notification_preferences(
        self,
        data: JSONBody[schemas.PreferencesUpdate],
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> schemas.Preferences:
        """Change pushes per kind, quiet hours (pushes are held, not dropped, until they end;
        the inbox gets everything at once) or the time zone. Fields left out stay."""
        return await notification_service.update_preferences(session, principal.user_id, data)

    @get("/devices")
    async def list_devices(
        self, session: NamedDependency[AsyncSession], principal: NamedDependency[Principal]
    ) -> schemas.DeviceList:
        """Your registered devices (never their tokens)."""
        return await notification_service.devices(session, principal.user_id)

    @post("/devices", status_code=HTTP_201_CREATED)
    async def register_device(
        self,
        data: JSONBody[schemas.DeviceRegister],
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> schemas.Device:
        """Register an FCM registration token for pushes (again: its last-seen time moves
        on). A token another account registered moves to yours."""
        return await notification_service.register_device(session, principal.user_id, data)

    @delete("/devices/{device_id:int}")
    async def remove_device(
        self,
        device_id: Id,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> None:
        """Stop pushing to a device."""
        await notification_service.remove_device(session, principal.user_id, device_id)
