-- Many bets in one transaction, one after another, each answered as place_bet() answers it
-- alone: place_bet() checks every rule before it writes, so a refused bet leaves nothing
-- behind and needs no subtransaction (a savepoint per bet cost more than the bet; past 64 in
-- one transaction, every other backend's snapshots slow down too). Callers order the bets by
-- user (wallet lock order).
CREATE OR REPLACE FUNCTION place_bets(
    p_users bigint[], p_keys text[], p_fingerprints bytea[], p_pools bigint[],
    p_outcomes bigint[], p_amounts bigint[]
) RETURNS TABLE (
    idx integer, status text, bet_id bigint, outcome_id bigint, new_position bigint,
    balance bigint, currency text, pool_status text, min_stake bigint, max_stake bigint
) LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1 .. coalesce(array_length(p_users, 1), 0) LOOP
        idx := i;
        SELECT * INTO status, bet_id, outcome_id, new_position, balance, currency, pool_status,
                      min_stake, max_stake
          FROM place_bet(p_users[i], p_keys[i], p_fingerprints[i], p_pools[i], p_outcomes[i],
                         p_amounts[i], false);
        RETURN NEXT;
    END LOOP;
END $$;
