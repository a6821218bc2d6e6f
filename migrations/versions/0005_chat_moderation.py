"""chat moderation: deletions and timeouts, append-only

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = (
    """
CREATE FUNCTION chat_moderation_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'chat_moderation is append-only' USING ERRCODE = 'restrict_violation';
END $$
""",
    """
CREATE TRIGGER chat_moderation_append_only BEFORE UPDATE OR DELETE ON chat_moderation
    FOR EACH ROW EXECUTE FUNCTION chat_moderation_append_only()
""",
)


def upgrade() -> None:
    action = sa.Enum("delete", "timeout", name="chat_moderation_action")
    op.create_table(
        "chat_moderation",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=False),
        sa.Column("action", action, nullable=False),
        sa.Column("target_user_id", sa.BigInteger(), nullable=True),
        sa.Column("message_id", sa.String(length=64), nullable=True),
        sa.Column("message_text", sa.String(length=500), nullable=True),
        sa.Column("seconds", sa.BigInteger(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name=op.f("fk_chat_moderation_channel_id_channels")
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_chat_moderation_actor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["target_user_id"], ["users.id"], name=op.f("fk_chat_moderation_target_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_moderation")),
    )
    op.create_index(
        "ix_chat_moderation_timeouts",
        "chat_moderation",
        ["channel_id", "target_user_id", "expires_at"],
    )
    for statement in APPEND_ONLY:
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("chat_moderation")
    op.execute("DROP FUNCTION chat_moderation_append_only()")
    sa.Enum(name="chat_moderation_action").drop(op.get_bind())
