"""points grants audit (append-only, counted for the daily cap); no self-approved withdrawal

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = (
    """
CREATE FUNCTION points_grants_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'points_grants is append-only: % is refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END $$
""",
    """
CREATE TRIGGER points_grants_append_only BEFORE UPDATE OR DELETE ON points_grants
    FOR EACH ROW EXECUTE FUNCTION points_grants_append_only()
""",
    """
CREATE TRIGGER points_grants_no_truncate BEFORE TRUNCATE ON points_grants
    FOR EACH STATEMENT EXECUTE FUNCTION points_grants_append_only()
""",
)


def upgrade() -> None:
    op.create_table(
        "points_grants",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        sa.Column("granted_by", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("transaction_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_points_grants_amount_positive")),
        sa.CheckConstraint("granted_by <> user_id", name=op.f("ck_points_grants_not_self_granted")),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name=op.f("fk_points_grants_channel_id_channels")
        ),
        sa.ForeignKeyConstraint(
            ["granted_by"], ["users.id"], name=op.f("fk_points_grants_granted_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_points_grants_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["ledger_transactions.id"],
            name=op.f("fk_points_grants_transaction_id_ledger_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_points_grants")),
        sa.UniqueConstraint("transaction_id", name=op.f("uq_points_grants_transaction_id")),
    )
    op.create_index(
        "ix_points_grants_channel_granter_time",
        "points_grants",
        ["channel_id", "granted_by", "created_at"],
    )
    op.create_index(op.f("ix_points_grants_user_id"), "points_grants", ["user_id"])
    for statement in APPEND_ONLY:
        op.execute(statement)
    # NOT VALID: enforced for every decision from now on without failing the upgrade over a
    # self-approval recorded before this rule existed.
    op.execute(
        "ALTER TABLE withdrawals ADD CONSTRAINT ck_withdrawals_not_self_approved"
        " CHECK (status <> 'approved' OR decided_by IS DISTINCT FROM user_id) NOT VALID"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE withdrawals DROP CONSTRAINT ck_withdrawals_not_self_approved")
    op.drop_table("points_grants")
    op.execute("DROP FUNCTION points_grants_append_only()")
