"""deposits held for review: a paid Checkout Session whose amount or currency is not the deposit's

Such a deposit is not credited: it is ``held`` with what Stripe reported, until an admin
credits it or ``rejected`` it, recorded with who decided, when and why.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A value added to an enum cannot be used in the transaction that added it: add them on
    # their own, committed before anything else runs.
    with op.get_context().autocommit_block():
        op.execute("ALTER TYPE deposit_status ADD VALUE IF NOT EXISTS 'held'")
        op.execute("ALTER TYPE deposit_status ADD VALUE IF NOT EXISTS 'rejected'")
    op.add_column("deposits", sa.Column("reported_amount", sa.BigInteger(), nullable=True))
    op.add_column("deposits", sa.Column("reported_currency", sa.String(length=16), nullable=True))
    op.add_column("deposits", sa.Column("reviewed_by", sa.BigInteger(), nullable=True))
    op.add_column("deposits", sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("deposits", sa.Column("review_note", sa.String(length=500), nullable=True))
    op.create_foreign_key(
        op.f("fk_deposits_reviewed_by_users"), "deposits", "users", ["reviewed_by"], ["id"]
    )
    # Admins list what waits for them.
    op.create_index(
        "ix_deposits_held",
        "deposits",
        ["id"],
        unique=False,
        postgresql_where=sa.text("status = 'held'"),
    )


def downgrade() -> None:
    op.drop_index("ix_deposits_held", table_name="deposits")
    op.drop_constraint(op.f("fk_deposits_reviewed_by_users"), "deposits", type_="foreignkey")
    for column in ("review_note", "reviewed_at", "reviewed_by", "reported_currency"):
        op.drop_column("deposits", column)
    op.drop_column("deposits", "reported_amount")
    # PostgreSQL cannot drop an enum value: rebuild the type without them. Deposits never
    # credited end as failed.
    op.execute("UPDATE deposits SET status = 'failed' WHERE status IN ('held', 'rejected')")
    op.execute("ALTER TYPE deposit_status RENAME TO deposit_status_old")
    op.execute("CREATE TYPE deposit_status AS ENUM ('pending', 'succeeded', 'failed', 'expired')")
    op.execute(
        "ALTER TABLE deposits ALTER COLUMN status TYPE deposit_status"
        " USING status::text::deposit_status"
    )
    op.execute("DROP TYPE deposit_status_old")
