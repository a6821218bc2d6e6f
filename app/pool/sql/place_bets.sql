-- Many bets in one transaction, each answered as place_bet() would answer it placed alone, one
-- after another in the order given: set-based. The pools are share-locked and the wallets
-- locked (in id order) by one statement each, the facts every rule needs are read in one
-- more, then the rules are applied bet by bet in memory (a bettor's earlier bets in the batch
-- move their balance, position and keys for their later ones), and the placed bets are
-- written by one statement per table: their positions, their placements, their ledger
-- transactions and entries (so the ledger's statement triggers run once a batch, not once a
-- bet). A refused bet writes nothing: no subtransaction is needed. Ids are drawn up front, so
-- every row is tied to its bet without a join back. Before returning, each touched wallet's
-- balance and position are checked against what the rules computed; a difference raises, and
-- the caller places the bets one by one.
CREATE OR REPLACE FUNCTION place_bets(
    p_users bigint[], p_keys text[], p_fingerprints bytea[], p_pools bigint[],
    p_outcomes bigint[], p_amounts bigint[]
) RETURNS TABLE (
    idx integer, status text, bet_id bigint, outcome_id bigint, new_position bigint,
    balance bigint, currency text, pool_status text, min_stake bigint, max_stake bigint
) LANGUAGE plpgsql AS $$
DECLARE
    n integer := coalesce(array_length(p_users, 1), 0);
    -- The answers, by bet.
    r_status text[] := array_fill(NULL::text, ARRAY[n]);
    r_bet bigint[] := array_fill(NULL::bigint, ARRAY[n]);
    r_outcome bigint[] := array_fill(NULL::bigint, ARRAY[n]);
    r_position bigint[] := array_fill(NULL::bigint, ARRAY[n]);
    r_balance bigint[] := array_fill(NULL::bigint, ARRAY[n]);
    r_currency text[] := array_fill(NULL::text, ARRAY[n]);
    r_pool_status text[] := array_fill(NULL::text, ARRAY[n]);
    r_min bigint[] := array_fill(NULL::bigint, ARRAY[n]);
    r_max bigint[] := array_fill(NULL::bigint, ARRAY[n]);
    -- Facts by bet: its key used before, its outcome belongs to its pool.
    f_used boolean[];
    f_outcome_ok boolean[];
    -- The pools, share-locked.
    pl_id bigint[];
    pl_status text[];
    pl_currency text[];
    pl_min bigint[];
    pl_max bigint[];
    pl_escrow bigint[];
    pl_past_close boolean[];
    pl_cash boolean[];
    -- The wallets, locked: by 'user:currency'.
    w_key text[];
    w_id bigint[];
    w_balance bigint[];
    w_frozen boolean[];
    -- Positions, by 'pool:user': as read, then as the batch moves them.
    ps_key text[];
    ps_bet bigint[];
    ps_outcome bigint[];
    ps_amount bigint[];
    -- Keys placed in this batch, by 'user:key', with the bet that placed them.
    k_key text[] := '{}';
    k_bet integer[] := '{}';
    -- The positions the batch wrote, by 'pool:user', with their bet ids.
    wr_key text[];
    wr_bet bigint[];
    -- Where a bet's answer comes from: its position ('pool:user', for its bet id), or an
    -- earlier bet of the batch it replays.
    b_position integer[] := array_fill(NULL::integer, ARRAY[n]);
    b_replays integer[] := array_fill(NULL::integer, ARRAY[n]);
    b_wallet bigint[] := array_fill(NULL::bigint, ARRAY[n]);
    b_escrow bigint[] := array_fill(NULL::bigint, ARRAY[n]);
    p integer;
    w integer;
    s integer;
    k integer;
    v_placed integer[] := '{}';
    v_checked integer;
    v_groups integer;
    replay record;
BEGIN
    IF n = 0 THEN
        RETURN;
    ELSIF n = 1 THEN  -- a lone bet: place_bet() itself costs less than the set-based way
        RETURN QUERY SELECT 1, x.* FROM place_bet(p_users[1], p_keys[1], p_fingerprints[1],
                                                  p_pools[1], p_outcomes[1], p_amounts[1],
                                                  false) AS x;
        RETURN;
    END IF;

    SELECT array_agg(x.id), array_agg(x.status), array_agg(x.currency), array_agg(x.min_stake),
           array_agg(x.max_stake), array_agg(x.escrow_account_id), array_agg(x.past_close),
           array_agg(currency_is_cash(x.currency))
      INTO pl_id, pl_status, pl_currency, pl_min, pl_max, pl_escrow, pl_past_close, pl_cash
      FROM (SELECT pp.id, pp.status::text AS status, pp.currency, pp.min_stake, pp.max_stake,
                   pp.escrow_account_id,
                   pp.closes_at IS NOT NULL AND pp.closes_at <= now() AS past_close
              FROM pools pp WHERE pp.id = ANY (p_pools) ORDER BY pp.id FOR SHARE) AS x;

    -- The wallets of the bets on pools that take them; their locks serialise each user's bets
    -- (what is read below stays true until this transaction ends).
    SELECT array_agg(x.user_id || ':' || x.currency), array_agg(x.id), array_agg(x.balance),
           array_agg(x.frozen)
      INTO w_key, w_id, w_balance, w_frozen
      FROM (SELECT a.id, a.user_id, a.currency, a.balance, a.frozen FROM accounts a
             WHERE a.kind = 'user_wallet' AND a.ref_id IS NULL
               AND (a.user_id, a.currency) IN (
                   SELECT b.u, pp.currency FROM unnest(p_users, p_pools) AS b(u, pool)
                     JOIN pools pp ON pp.id = b.pool
                    WHERE pp.status = 'open' AND NOT currency_is_cash(pp.currency))
             ORDER BY a.id FOR NO KEY UPDATE) AS x;

    -- Read under the locks: keys used before (by a concurrent call we waited for, too), and
    -- the outcomes; the positions of every bettor in every pool they bet on.
    SELECT array_agg(EXISTS (SELECT 1 FROM bet_placements bp
                              WHERE bp.user_id = b.u AND bp.idempotency_key = b.k) ORDER BY b.i),
           array_agg(EXISTS (SELECT 1 FROM pool_outcomes o
                              WHERE o.id = b.o AND o.pool_id = b.pool) ORDER BY b.i)
      INTO f_used, f_outcome_ok
      FROM unnest(p_users, p_keys, p_pools, p_outcomes) WITH ORDINALITY AS b(u, k, pool, o, i);
    SELECT array_agg(x.pool || ':' || x.u), array_agg(bt.id), array_agg(bt.outcome_id),
           array_agg(coalesce(bt.amount, 0))
      INTO ps_key, ps_bet, ps_outcome, ps_amount
      FROM (SELECT DISTINCT b.pool, b.u FROM unnest(p_pools, p_users) AS b(pool, u)) AS x
      LEFT JOIN bets bt ON bt.pool_id = x.pool AND bt.user_id = x.u;

    FOR i IN 1 .. n LOOP
        IF f_used[i] THEN
            -- A key used before answers as it did then (or is refused if the body differs).
            SELECT * INTO replay FROM place_bet_replay(p_users[i], p_keys[i], p_fingerprints[i]);
            r_status[i] := replay.status;
            r_bet[i] := replay.bet_id;
            r_outcome[i] := replay.outcome_id;
            r_position[i] := replay.new_position;
            r_balance[i] := replay.balance;
            r_currency[i] := replay.currency;
            r_pool_status[i] := replay.pool_status;
            CONTINUE;
        END IF;
        k := array_position(k_key, p_users[i] || ':' || p_keys[i]);
        IF k IS NOT NULL THEN
            -- A key placed earlier in this batch: as place_bet_replay() would answer.
            k := k_bet[k];
            IF p_fingerprints[k] <> p_fingerprints[i] THEN
                r_status[i] := 'idempotency_key_reused';
            ELSE
                r_status[i] := 'replayed';
                b_replays[i] := k;
                r_outcome[i] := r_outcome[k];
                r_position[i] := r_position[k];
                r_balance[i] := r_balance[k];
                r_currency[i] := r_currency[k];
                r_pool_status[i] := r_pool_status[k];
            END IF;
            CONTINUE;
        END IF;

        p := array_position(pl_id, p_pools[i]);
        IF p IS NULL THEN r_status[i] := 'pool_not_found'; CONTINUE; END IF;
        r_pool_status[i] := pl_status[p];
        r_currency[i] := pl_currency[p];
        r_min[i] := pl_min[p];
        r_max[i] := pl_max[p];
        IF pl_status[p] <> 'open' THEN r_status[i] := 'pool_not_open'; CONTINUE; END IF;
        IF pl_past_close[p] THEN r_status[i] := 'pool_closed_by_time'; CONTINUE; END IF;
        IF pl_cash[p] THEN r_status[i] := 'cash_check'; CONTINUE; END IF;
        IF NOT f_outcome_ok[i] THEN r_status[i] := 'unknown_outcome'; CONTINUE; END IF;

        s := array_position(ps_key, p_pools[i] || ':' || p_users[i]);
        b_position[i] := s;
        IF ps_outcome[s] IS NOT NULL AND ps_outcome[s] <> p_outcomes[i] THEN
            r_outcome[i] := ps_outcome[s];
            r_position[i] := ps_amount[s];
            r_status[i] := 'outcome_already_chosen'; CONTINUE;
        END IF;
        r_position[i] := ps_amount[s] + p_amounts[i];
        IF r_position[i] < pl_min[p] OR r_position[i] > pl_max[p] THEN
            r_position[i] := ps_amount[s];
            b_position[i] := NULL;  -- its bet id is not told
            r_status[i] := 'stake_out_of_range'; CONTINUE;
        END IF;
        b_position[i] := NULL;
        w := array_position(w_key, p_users[i] || ':' || pl_currency[p]);
        IF w IS NOT NULL AND w_frozen[w] THEN r_status[i] := 'wallet_frozen'; CONTINUE; END IF;
        IF w IS NULL OR w_balance[w] < p_amounts[i] THEN
            r_status[i] := 'insufficient_funds'; CONTINUE;
        END IF;

        -- Placed: the batch's later bets see its stake, its position and its key.
        w_balance[w] := w_balance[w] - p_amounts[i];
        ps_amount[s] := r_position[i];
        ps_outcome[s] := p_outcomes[i];
        k_key := k_key || (p_users[i] || ':' || p_keys[i]);
        k_bet := k_bet || i;
        v_placed := v_placed || i;
        b_position[i] := s;
        b_wallet[i] := w_id[w];
        b_escrow[i] := pl_escrow[p];
        r_status[i] := 'placed';
        r_outcome[i] := p_outcomes[i];
        r_balance[i] := w_balance[w];
    END LOOP;

    IF cardinality(v_placed) > 0 THEN
        -- The positions: one row per bettor and pool, the batch's stakes added at once.
        WITH placed AS (
            SELECT p_pools[i] AS pool, p_users[i] AS u, p_outcomes[i] AS o, b_wallet[i] AS wallet,
                   sum(p_amounts[i]) AS amount
              FROM unnest(v_placed) AS i GROUP BY 1, 2, 3, 4 ORDER BY 1, 2
        ), written AS (
            INSERT INTO bets AS bt (pool_id, user_id, outcome_id, wallet_account_id, amount)
            SELECT pool, u, o, wallet, amount FROM placed
            ON CONFLICT ON CONSTRAINT uq_bets_pool_id_user_id DO UPDATE
               SET amount = bt.amount + EXCLUDED.amount, updated_at = now()
             WHERE bt.outcome_id = EXCLUDED.outcome_id
            RETURNING bt.id, bt.pool_id, bt.user_id, bt.amount
        )
        SELECT count(*), count(*) FILTER (
                   WHERE wr.amount = ps_amount[array_position(ps_key, wr.pool_id || ':' || wr.user_id)]),
               array_agg(wr.pool_id || ':' || wr.user_id), array_agg(wr.id)
          INTO v_groups, v_checked, wr_key, wr_bet
          FROM written wr;
        IF v_groups <> (SELECT count(DISTINCT (p_pools[i], p_users[i])) FROM unnest(v_placed) AS i)
           OR v_checked <> v_groups THEN
            RAISE EXCEPTION 'bet positions moved under their wallet locks';
        END IF;
        FOR j IN 1 .. cardinality(v_placed) LOOP
            k := v_placed[j];
            r_bet[k] := wr_bet[array_position(wr_key, p_pools[k] || ':' || p_users[k])];
        END LOOP;

        -- The placements (each with its answer), their ledger transactions and entries.
        WITH placed AS (
            SELECT i, nextval('bet_placements_id_seq') AS placement,
                   nextval('ledger_transactions_id_seq') AS tx,
                   jsonb_build_object('pool_id', p_pools[i], 'bet_id', r_bet[i]) AS memo
              FROM unnest(v_placed) AS i
        ), placements AS (
            INSERT INTO bet_placements (id, user_id, idempotency_key, fingerprint, pool_id,
                                        amount, bet_id, position_amount, balance_after)
            SELECT placement, p_users[i], p_keys[i], p_fingerprints[i], p_pools[i],
                   p_amounts[i], r_bet[i], r_position[i], r_balance[i]
              FROM placed
        ), transactions AS (
            INSERT INTO ledger_transactions (id, idempotency_key, kind, fingerprint, memo)
            SELECT tx, 'bet:' || placement, 'bet',
                   ledger_fingerprint('bet', memo, ledger_transfer_postings_text(
                       b_wallet[i], b_escrow[i], r_currency[i], p_amounts[i])),
                   memo
              FROM placed
            RETURNING id
        )
        INSERT INTO ledger_entries (transaction_id, account_id, currency, amount)
        SELECT t.id, line.account_id, r_currency[pl.i], line.amount
          FROM placed pl JOIN transactions t ON t.id = pl.tx
         CROSS JOIN LATERAL (VALUES (b_wallet[pl.i], -p_amounts[pl.i]),
                                    (b_escrow[pl.i], p_amounts[pl.i])) AS line(account_id, amount);

        -- The wallets hold what the rules computed, or nothing of this stands.
        PERFORM 1 FROM unnest(w_id, w_balance) AS x(id, computed)
          JOIN accounts a ON a.id = x.id WHERE a.balance <> x.computed;
        IF FOUND THEN
            RAISE EXCEPTION 'wallet balances moved under their locks';
        END IF;
    END IF;

    -- Bet ids the answers name: a position's refused on the outcome (written before the batch
    -- or by it), a replayed bet's of this batch.
    FOR i IN 1 .. n LOOP
        IF r_status[i] = 'outcome_already_chosen' THEN
            s := b_position[i];
            r_bet[i] := coalesce(ps_bet[s], wr_bet[array_position(wr_key, ps_key[s])]);
        ELSIF b_replays[i] IS NOT NULL THEN
            r_bet[i] := r_bet[b_replays[i]];
        END IF;
    END LOOP;

    RETURN QUERY
    SELECT x.i::integer, r_status[x.i], r_bet[x.i], r_outcome[x.i], r_position[x.i],
           r_balance[x.i], r_currency[x.i], r_pool_status[x.i], r_min[x.i], r_max[x.i]
      FROM generate_series(1, n) AS x(i);
END $$;
