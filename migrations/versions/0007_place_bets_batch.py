"""place_bets(): many bets in one transaction, each in its own subtransaction

Concurrent bets are gathered into one call and one commit. A refused bet is rolled back alone
(its subtransaction) and answered with its reason; the others go through. Callers order the
bets by user, so concurrent batches lock wallets in the same order.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PLACE_BETS = """
CREATE FUNCTION place_bets(
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
    op.execute(PLACE_BETS)


def downgrade() -> None:
    op.execute("DROP FUNCTION place_bets(bigint[], text[], bytea[], bigint[], bigint[], bigint[])")
