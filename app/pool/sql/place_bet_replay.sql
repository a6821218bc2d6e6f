-- What place_bet answered the first time a key was used (or that the body differs).
CREATE OR REPLACE FUNCTION place_bet_replay(
    p_user bigint, p_key text, p_fingerprint bytea,
    OUT status text, OUT bet_id bigint, OUT outcome_id bigint, OUT new_position bigint,
    OUT balance bigint, OUT currency text, OUT pool_status text, OUT min_stake bigint,
    OUT max_stake bigint
) LANGUAGE plpgsql AS $$
DECLARE
    v_placement record;
BEGIN
    SELECT bp.fingerprint, bp.bet_id, bp.pool_id, bp.position_amount, bp.balance_after
      INTO v_placement
      FROM bet_placements bp WHERE bp.user_id = p_user AND bp.idempotency_key = p_key;
    IF v_placement.fingerprint <> p_fingerprint OR v_placement.bet_id IS NULL THEN
        status := 'idempotency_key_reused'; RETURN;
    END IF;
    SELECT b.outcome_id, p.currency, p.status::text INTO outcome_id, currency, pool_status
      FROM bets b JOIN pools p ON p.id = b.pool_id WHERE b.id = v_placement.bet_id;
    bet_id := v_placement.bet_id;
    new_position := v_placement.position_amount;
    balance := v_placement.balance_after;
    status := 'replayed';
END $$;
