-- One bet in one round trip: every rule of a placement (pool open and before its close time,
-- outcome of the pool, one outcome per user, stake within limits, wallet not frozen, funds)
-- checked in the transaction that debits the stake. Every check comes before the first write,
-- so a refusal writes nothing: place_bets() runs many in one transaction without a
-- subtransaction each.
CREATE OR REPLACE FUNCTION place_bet(
    p_user bigint, p_key text, p_fingerprint bytea, p_pool bigint, p_outcome bigint,
    p_amount bigint, p_cash_cleared boolean,
    OUT status text, OUT bet_id bigint, OUT outcome_id bigint, OUT new_position bigint,
    OUT balance bigint, OUT currency text, OUT pool_status text, OUT min_stake bigint,
    OUT max_stake bigint
) LANGUAGE plpgsql AS $$
-- status: 'placed', 'replayed', or why not ('pool_not_found', 'pool_not_open',
-- 'pool_closed_by_time', 'cash_check' (call again once the player may stake cash),
-- 'unknown_outcome', 'outcome_already_chosen', 'stake_out_of_range', 'wallet_frozen',
-- 'insufficient_funds', 'idempotency_key_reused'). A refusal leaves nothing behind (locks
-- aside); a placement that raises (it should not) leaves the transaction to roll back.
DECLARE
    v_placement bigint;
    v_pool record;
    v_wallet record;
    v_bet record;
BEGIN
    -- A key used before answers as it did then (or is refused if the body differs).
    PERFORM 1 FROM bet_placements bp WHERE bp.user_id = p_user AND bp.idempotency_key = p_key;
    IF FOUND THEN
        SELECT * INTO status, bet_id, outcome_id, new_position, balance, currency, pool_status,
                      min_stake, max_stake
          FROM place_bet_replay(p_user, p_key, p_fingerprint);
        RETURN;
    END IF;

    -- Share-locked: a concurrent lock waits for this bet, a bet after the lock sees it.
    SELECT p.status::text AS status, p.currency, p.min_stake, p.max_stake, p.escrow_account_id,
           p.closes_at IS NOT NULL AND p.closes_at <= now() AS past_close
      INTO v_pool FROM pools p WHERE p.id = p_pool FOR SHARE;
    IF NOT FOUND THEN status := 'pool_not_found'; RETURN; END IF;
    pool_status := v_pool.status;
    currency := v_pool.currency;
    min_stake := v_pool.min_stake;
    max_stake := v_pool.max_stake;
    IF v_pool.status <> 'open' THEN status := 'pool_not_open'; RETURN; END IF;
    IF v_pool.past_close THEN status := 'pool_closed_by_time'; RETURN; END IF;
    IF currency_is_cash(v_pool.currency) AND NOT p_cash_cleared THEN
        status := 'cash_check'; RETURN;
    END IF;

    -- The wallet's lock serialises the user's bets (their position in every pool of the
    -- currency, their balance): what is read below stays true until this transaction ends.
    SELECT a.id, a.balance, a.frozen INTO v_wallet FROM accounts a
     WHERE a.kind = 'user_wallet' AND a.currency = v_pool.currency AND a.user_id = p_user
       AND a.ref_id IS NULL
       FOR NO KEY UPDATE;

    -- The same key, committed by a concurrent call whose wallet lock we waited for.
    PERFORM 1 FROM bet_placements bp WHERE bp.user_id = p_user AND bp.idempotency_key = p_key;
    IF FOUND THEN
        SELECT * INTO status, bet_id, outcome_id, new_position, balance, currency, pool_status,
                      min_stake, max_stake
          FROM place_bet_replay(p_user, p_key, p_fingerprint);
        RETURN;
    END IF;

    PERFORM 1 FROM pool_outcomes o WHERE o.id = p_outcome AND o.pool_id = p_pool;
    IF NOT FOUND THEN status := 'unknown_outcome'; RETURN; END IF;

    SELECT b.id, b.outcome_id, b.amount INTO v_bet
      FROM bets b WHERE b.pool_id = p_pool AND b.user_id = p_user;
    IF FOUND AND v_bet.outcome_id <> p_outcome THEN
        bet_id := v_bet.id;
        outcome_id := v_bet.outcome_id;
        new_position := v_bet.amount;
        status := 'outcome_already_chosen'; RETURN;
    END IF;
    new_position := coalesce(v_bet.amount, 0) + p_amount;
    IF new_position < v_pool.min_stake OR new_position > v_pool.max_stake THEN
        new_position := new_position - p_amount;
        status := 'stake_out_of_range'; RETURN;
    END IF;
    IF v_wallet.frozen THEN status := 'wallet_frozen'; RETURN; END IF;
    IF v_wallet.id IS NULL OR v_wallet.balance < p_amount THEN
        status := 'insufficient_funds'; RETURN;
    END IF;

    -- Every rule holds: write. A concurrent holder of the key would have been waited for on
    -- the wallet above, so the insert does not conflict; if it does, nothing was written yet.
    INSERT INTO bet_placements (user_id, idempotency_key, fingerprint, pool_id, amount)
    VALUES (p_user, p_key, p_fingerprint, p_pool, p_amount)
    ON CONFLICT ON CONSTRAINT uq_bet_placements_user_id_idempotency_key DO NOTHING
    RETURNING id INTO v_placement;
    IF v_placement IS NULL THEN
        SELECT * INTO status, bet_id, outcome_id, new_position, balance, currency, pool_status,
                      min_stake, max_stake
          FROM place_bet_replay(p_user, p_key, p_fingerprint);
        RETURN;
    END IF;

    INSERT INTO bets AS b (pool_id, user_id, outcome_id, wallet_account_id, amount)
    VALUES (p_pool, p_user, p_outcome, v_wallet.id, p_amount)
    ON CONFLICT ON CONSTRAINT uq_bets_pool_id_user_id DO UPDATE
       SET amount = b.amount + EXCLUDED.amount, updated_at = now()
     WHERE b.outcome_id = EXCLUDED.outcome_id
    RETURNING b.id, b.outcome_id, b.amount INTO bet_id, outcome_id, new_position;
    IF bet_id IS NULL THEN  -- cannot happen under the wallet's lock; never write past it
        RAISE EXCEPTION 'bet of user % in pool % changed outcome under its wallet lock',
            p_user, p_pool;
    END IF;

    -- The stake moves through the ledger's one posting function; the wallet was checked above.
    PERFORM ledger_post('bet:' || v_placement, 'bet',
                        jsonb_build_object('pool_id', p_pool, 'bet_id', bet_id),
                        ARRAY[v_wallet.id, v_pool.escrow_account_id],
                        ARRAY[v_pool.currency, v_pool.currency], ARRAY[-p_amount, p_amount],
                        true);
    SELECT a.balance INTO balance FROM accounts a WHERE a.id = v_wallet.id;

    UPDATE bet_placements bp SET bet_id = place_bet.bet_id, position_amount = new_position,
           balance_after = balance
     WHERE bp.id = v_placement;
    status := 'placed';
END $$;
