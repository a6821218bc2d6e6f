"""What the probes answer."""

from typing import Literal

from app.kit.schema import Output


class Readiness(Output):
    status: Literal["ok", "unavailable"]
    #: ``ok`` or ``failed: <error>`` per dependency (``postgres``, ``redis``).
    checks: dict[str, str]
