"""pools: a partial index of the pools resolved or cancelled and not yet paid

The repair sweep looks for them every few seconds; with the index, an empty answer (the usual
one) costs a glance at an empty index, however many pools were ever settled.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX ix_pools_unpaid ON pools (id) WHERE status IN ('resolved', 'cancelled')"
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_pools_unpaid")
