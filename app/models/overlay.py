"""Overlay keys: read-only, revocable keys an OBS browser source watches a channel with."""

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Identity,
    LargeBinary,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, CreatedAtMixin


class OverlayKey(CreatedAtMixin, Base):
    """A channel's overlay key, stored as its SHA-256 (the key itself is shown once, when it
    is made). It lets a Socket.IO client watch that channel and nothing else, until revoked."""

    __tablename__ = "overlay_keys"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("channels.id", ondelete="CASCADE"), index=True
    )
    label: Mapped[str] = mapped_column(String(60))
    key_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    #: The key's first characters after ``ovk_``, so staff can tell their keys apart.
    key_prefix: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (CheckConstraint("char_length(label) BETWEEN 1 AND 60", name="label_length"),)
