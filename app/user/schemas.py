"""Response bodies of one's own account."""

from datetime import datetime

from app.kit.schema import Output


class UserProfile(Output):
    id: int
    email: str | None
    display_name: str
    role: str
    created_at: datetime
