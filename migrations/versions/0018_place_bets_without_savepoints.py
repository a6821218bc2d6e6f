"""place_bet() checks every rule before it writes; place_bets() runs without a savepoint a bet

A refused bet used to leave its placement and position rows for a subtransaction (or the
caller) to roll back, so ``place_bets()`` wrapped each bet in a savepoint: the most expensive
part of a batch, and past 64 subtransactions in one transaction PostgreSQL's snapshots slow
down for every backend. Now every check (the wallet locked first, then the key, the outcome,
the position's outcome and limits, frozen, funds) comes before the first write; a refusal
writes nothing, and a batch runs its bets one after another in one plain transaction.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

from app.kit.sql_source import install

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Installed in this order, each with the digest of the text this migration was written for.
SOURCES = {
    "app/pool/sql/place_bet.sql": "2bb3ba3df8108a57",
    "app/pool/sql/place_bets.sql": "f131a83277543409",
}

# As 0007 and 0011 installed it: each bet in a subtransaction, a refusal raised to roll it back.
PREVIOUS_PLACE_BETS = """
CREATE OR REPLACE FUNCTION place_bets(
    p_users bigint[], p_keys text[], p_fingerprints bytea[], p_pools bigint[],
    p_outcomes bigint[], p_amounts bigint[]
) RETURNS TABLE (
    idx integer, status text, bet_id bigint, outcome_id bigint, new_position bigint,
    balance bigint, currency text, pool_status text, min_stake bigint, max_stake bigint
) LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    FOR i IN 1 .. coalesce(array_length(p_users, 1), 0) LOOP
        BEGIN
            SELECT * INTO r FROM place_bet(p_users[i], p_keys[i], p_fingerprints[i], p_pools[i],
                                           p_outcomes[i], p_amounts[i], false);
            IF r.status NOT IN ('placed', 'replayed') THEN
                RAISE EXCEPTION 'bet refused: %', r.status USING ERRCODE = 'P0001';
            END IF;
        EXCEPTION WHEN raise_exception THEN
            NULL;  -- the refused bet's rows are rolled back; r still says why
        END;
        idx := i;
        status := r.status;
        bet_id := r.bet_id;
        outcome_id := r.outcome_id;
        new_position := r.new_position;
        balance := r.balance;
        currency := r.currency;
        pool_status := r.pool_status;
        min_stake := r.min_stake;
        max_stake := r.max_stake;
        RETURN NEXT;
    END LOOP;
END $$
"""


def upgrade() -> None:
    install(op.execute, SOURCES)


def downgrade() -> None:
    # The new place_bet() is safe under the old place_bets() (a refusal writes nothing), so
    # only the batch function goes back.
    op.execute(PREVIOUS_PLACE_BETS)
