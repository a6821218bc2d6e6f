"""Why a notification, a device or a preference was refused."""

from app.kit.errors import NotFound


class NotificationNotFound(NotFound):
    code = "notification_not_found"
    message = "You have no such notification."


class DeviceNotFound(NotFound):
    code = "device_not_found"
    message = "You have no such device registered."
