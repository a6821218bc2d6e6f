"""channel_platform_streams: each platform's side of a channel's stream

A channel streamed to Twitch, Kick and YouTube at once has one stream session: it begins when
the first platform goes live and ends when the last one goes offline, so a stream-online rule
opens one pool and a stream-offline rule acts once. Each platform's own state (live or not, its
stream id, its last event's time) is a row here; ``channel_streams`` keeps the session.

A channel live now on a single verified link gets that platform's row; one live with several
links cannot say which of them is live, and gets none (its session ends at the next offline
event, as before this migration).

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PLATFORM = postgresql.ENUM("twitch", "kick", "youtube", name="platform", create_type=False)


def upgrade() -> None:
    op.create_table(
        "channel_platform_streams",
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        sa.Column("platform", PLATFORM, nullable=False),
        sa.Column("online", sa.Boolean(), nullable=False),
        sa.Column("stream_id", sa.String(length=128), nullable=True),
        sa.Column("event_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
            name=op.f("fk_channel_platform_streams_channel_id_channels"),
        ),
        sa.PrimaryKeyConstraint("channel_id", "platform", name=op.f("pk_channel_platform_streams")),
    )
    op.execute(
        "INSERT INTO channel_platform_streams (channel_id, platform, online, stream_id, event_at)"
        " SELECT s.channel_id, min(l.platform::text)::platform, true, s.stream_id, s.event_at"
        " FROM channel_streams s JOIN channel_links l ON l.channel_id = s.channel_id"
        " WHERE s.online AND l.status <> 'unverified'"
        " GROUP BY s.channel_id, s.stream_id, s.event_at HAVING count(*) = 1"
    )


def downgrade() -> None:
    op.drop_table("channel_platform_streams")
