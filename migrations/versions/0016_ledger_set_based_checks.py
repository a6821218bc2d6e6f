"""The ledger's per-entry checks become set-based; a paid pool's escrow is empty, by the database

Settlement writes two ledger entries per winner in one statement; a deferred constraint trigger
per entry summed each entry's transaction again at commit (most of the time of a large
settlement). Now the balance rule is checked once per INSERT statement over the statement's new
entries (a transition table): entries are append-only, so a transaction balanced before a
statement stays balanced when the statement's own entries for it sum to zero. A transaction
written across several statements is queued in ``ledger_balance_rechecks`` and checked whole
at commit, as every transaction was before.

A settled or refunded pool's escrow must be exactly zero: checked by a trigger on the pool's
status change (it was a check in Python) and kept so by refusing entries on a paid pool's escrow.

``accounts`` and ``bets`` leave room in each page (fillfactor 85): a wallet's balance and a bet's
stake or payout change in place (HOT updates), without a new entry in every index.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-12
"""

from collections.abc import Sequence

from alembic import op

from app.kit.sql_source import install

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Installed in this order, each with the digest of the text this migration was written for.
SOURCES = {
    "app/ledger/sql/ledger_check_balanced.sql": "e9e6abb81e9e52ee",
    "app/ledger/sql/ledger_recheck_balanced.sql": "a302aeda3da7f22d",
    "app/ledger/sql/triggers.sql": "865f4eca2a8d80f1",
    "app/ledger/sql/balance_recheck_trigger.sql": "5ca37657fab39923",
    "app/pool/sql/pool_check_escrow_empty.sql": "cc8b9df6170b7781",
    "app/pool/sql/pool_refuse_paid_escrow.sql": "51df9a4d885924f2",
    "app/pool/sql/triggers.sql": "5cd4d71c32244257",
}

# As 0002 and 0011 installed them.
PREVIOUS_CHECK_BALANCED = """
CREATE OR REPLACE FUNCTION ledger_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    unbalanced record;
BEGIN
    SELECT currency, sum(amount) AS total INTO unbalanced
    FROM ledger_entries WHERE transaction_id = NEW.transaction_id
    GROUP BY currency HAVING sum(amount) <> 0 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger transaction % does not balance: % is off by %',
            NEW.transaction_id, unbalanced.currency, unbalanced.total
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_transaction_balanced';
    END IF;
    RETURN NULL;
END $$
"""
PREVIOUS_BALANCED_TRIGGER = """
CREATE CONSTRAINT TRIGGER ledger_entries_balanced AFTER INSERT ON ledger_entries
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_check_balanced()
"""


def upgrade() -> None:
    op.execute("CREATE TABLE ledger_balance_rechecks (transaction_id bigint NOT NULL)")
    op.execute(
        "CREATE INDEX ix_pools_paid_escrow ON pools (escrow_account_id)"
        " WHERE status IN ('settled', 'refunded')"
    )
    op.execute("ALTER TABLE accounts SET (fillfactor = 85)")
    op.execute("ALTER TABLE bets SET (fillfactor = 85)")
    install(op.execute, SOURCES)


def downgrade() -> None:
    op.execute("DROP TRIGGER pools_paid_escrow_empty ON pools")
    op.execute("DROP FUNCTION pool_check_escrow_empty()")
    op.execute("DROP TRIGGER ledger_entries_paid_escrow ON ledger_entries")
    op.execute("DROP FUNCTION pool_refuse_paid_escrow()")
    op.execute("DROP TRIGGER ledger_entries_balanced ON ledger_entries")
    op.execute("DROP TABLE ledger_balance_rechecks")
    op.execute("DROP FUNCTION ledger_recheck_balanced()")
    op.execute(PREVIOUS_CHECK_BALANCED)
    op.execute(PREVIOUS_BALANCED_TRIGGER)
    op.execute("ALTER TABLE bets RESET (fillfactor)")
    op.execute("ALTER TABLE accounts RESET (fillfactor)")
    op.execute("DROP INDEX ix_pools_paid_escrow")
