"""Why an overlay key was refused or could not be made."""

from app.kit.errors import AppError, NotFound


class OverlayError(AppError):
    status = 409


class OverlayKeyNotFound(NotFound):
    code = "overlay_key_not_found"
    message = "This channel has no such overlay key."


class OverlayKeyLimitReached(OverlayError):
    code = "overlay_key_limit_reached"

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"A channel may have at most {limit} overlay keys in use; revoke one first.",
            limit=limit,
        )


class InvalidOverlayKey(AppError):
    code = "invalid_overlay_key"
    status = 401
    message = "The overlay key is unknown or was revoked; make a new one for this overlay."


class OverlayKeyRevoked(AppError):
    code = "overlay_key_revoked"
    status = 401
    message = "This overlay key was revoked; the overlay needs a new one."
