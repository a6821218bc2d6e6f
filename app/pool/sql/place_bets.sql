-- Many bets in one transaction, each in its own subtransaction: a refused bet is rolled back
-- alone and answered with its reason. Callers order the bets by user (wallet lock order).
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
END $$;
