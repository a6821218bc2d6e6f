"""Why an automation action was refused."""

from app.kit.errors import AppError, NotFound


class AutomationError(AppError):
    status = 409


class AutomationNotFound(NotFound):
    code = "automation_not_found"
    message = "This channel has no such automation."


class MirrorAutomationExists(AutomationError):
    code = "automation_exists"
    message = "This channel already mirrors its platform predictions; one rule does it."
