"""Wallet balance trigger: join the transition table instead of IN (subquery)

With no statistics on a transition table, ``IN (SELECT ...)`` could be planned as a subplan run
once per account row, quadratic for settlements that touch thousands of wallets.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JOINED = """
CREATE OR REPLACE FUNCTION ledger_apply_to_wallets() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM accounts AS a
    JOIN (SELECT DISTINCT account_id FROM new_entries) AS touched ON touched.account_id = a.id
    WHERE a.balance IS NOT NULL
    ORDER BY a.id FOR NO KEY UPDATE OF a;
    UPDATE accounts AS a SET balance = a.balance + d.delta
    FROM (SELECT account_id, sum(amount) AS delta FROM new_entries GROUP BY account_id) AS d
    WHERE a.id = d.account_id AND a.balance IS NOT NULL;
    RETURN NULL;
END $$
"""

PREVIOUS = """
CREATE OR REPLACE FUNCTION ledger_apply_to_wallets() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM accounts
    WHERE id IN (SELECT account_id FROM new_entries) AND balance IS NOT NULL
    ORDER BY id FOR NO KEY UPDATE;
    UPDATE accounts AS a SET balance = a.balance + d.delta
    FROM (SELECT account_id, sum(amount) AS delta FROM new_entries GROUP BY account_id) AS d
    WHERE a.id = d.account_id AND a.balance IS NOT NULL;
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.execute(JOINED)


def downgrade() -> None:
    op.execute(PREVIOUS)
