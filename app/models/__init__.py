"""All ORM models, imported here so the metadata is complete wherever it is used."""

from app.models.base import Base
from app.models.user import RefreshToken, Role, User

__all__ = ["Base", "RefreshToken", "Role", "User"]
