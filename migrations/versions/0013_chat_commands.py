"""chat commands: each command read from a platform chat, once per platform message id; a
channel's choice to let Twitch's moderators run its pools from chat

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PLATFORM = postgresql.ENUM("twitch", "kick", "youtube", name="platform", create_type=False)


def upgrade() -> None:
    op.add_column(
        "channels",
        sa.Column(
            "twitch_moderators_run_pools",
            sa.Boolean(),
            server_default=sa.text("false"),
            nullable=False,
        ),
    )
    op.create_table(
        "chat_commands",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        sa.Column("platform", PLATFORM, nullable=False),
        sa.Column("message_id", sa.String(length=128), nullable=False),
        sa.Column("platform_user_id", sa.String(length=128), nullable=False),
        sa.Column("login", sa.String(length=128), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("command", sa.String(length=16), nullable=False),
        sa.Column("text", sa.String(length=500), nullable=False),
        sa.Column("pool_id", sa.BigInteger(), nullable=True),
        sa.Column("result", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name=op.f("fk_chat_commands_channel_id_channels")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_chat_commands_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["pool_id"], ["pools.id"], name=op.f("fk_chat_commands_pool_id_pools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_commands")),
        sa.UniqueConstraint(
            "platform", "message_id", name=op.f("uq_chat_commands_platform_message_id")
        ),
    )
    op.create_index(
        "ix_chat_commands_channel_created", "chat_commands", ["channel_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_table("chat_commands")
    op.drop_column("channels", "twitch_moderators_run_pools")
