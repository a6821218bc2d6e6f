"""pools: when each bettor of a paid pool was told their result

A pool's payout commits on its own; each bettor's result (won, lost, refunded) is written to
their inbox by a job right after, which then marks the pool. The repair sweep looks every few
seconds for paid pools not marked yet (a lost job); the partial index holds only those, so the
usual empty answer costs a glance at an empty index.

Pools paid before this migration got their results with the payout: they are marked now.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "pools", sa.Column("results_notified_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.execute(
        "UPDATE pools SET results_notified_at = coalesce(settled_at, refunded_at, now())"
        " WHERE status IN ('settled', 'refunded')"
    )
    op.execute(
        "CREATE INDEX ix_pools_results_untold ON pools (id)"
        " WHERE status IN ('settled', 'refunded') AND results_notified_at IS NULL"
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_pools_results_untold")
    op.drop_column("pools", "results_notified_at")
