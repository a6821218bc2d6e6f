-- The one way to write a ledger transaction: every writer (the ledger service, bets) calls it,
-- and settlement's ledger_post_staged applies the same rules to many at once.
-- status: 'posted'; 'replayed' when the key was used before for the same transaction (its id
-- is returned, nothing is written); 'key_reused' when the key was used for another one.
-- Raises on rows that must not be written: unbalanced postings (check_violation,
-- ledger_transaction_balanced), a debited frozen wallet unless p_allow_frozen
-- (ledger_wallet_frozen), an overdraft (the wallet's CHECK, ck_accounts_wallet_not_negative).
CREATE OR REPLACE FUNCTION ledger_post(
    p_key text, p_kind transaction_kind, p_memo jsonb,
    p_accounts bigint[], p_currencies text[], p_amounts bigint[],
    p_allow_frozen boolean DEFAULT false,
    OUT transaction_id bigint, OUT status text
) LANGUAGE plpgsql AS $$
DECLARE
    v_fingerprint bytea;
    v_existing bytea;
BEGIN
    IF cardinality(p_accounts) = 2 AND cardinality(p_currencies) = 2
       AND cardinality(p_amounts) = 2 AND p_currencies[1] = p_currencies[2]
       AND p_amounts[1] < 0 AND p_amounts[2] = -p_amounts[1] THEN
        -- A transfer (bets, most service calls): balanced as given, canonical without a sort.
        v_fingerprint := ledger_fingerprint(p_kind, p_memo, ledger_transfer_postings_text(
            p_accounts[1], p_accounts[2], p_currencies[1], p_amounts[2]));
    ELSIF coalesce(cardinality(p_accounts), 0) < 2
       OR cardinality(p_accounts) <> cardinality(p_currencies)
       OR cardinality(p_accounts) <> cardinality(p_amounts)
       OR EXISTS (SELECT 1 FROM unnest(p_currencies, p_amounts) AS p(currency, amount)
                  GROUP BY p.currency HAVING sum(p.amount) <> 0 OR bool_or(p.amount = 0)) THEN
        RAISE EXCEPTION 'ledger transaction % does not balance', p_key
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_transaction_balanced';
    ELSE
        v_fingerprint := ledger_fingerprint(
            p_kind, p_memo, ledger_postings_text(p_accounts, p_currencies, p_amounts));
    END IF;

    INSERT INTO ledger_transactions AS t (idempotency_key, kind, fingerprint, memo)
    VALUES (p_key, p_kind, v_fingerprint, p_memo)
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING t.id INTO transaction_id;
    IF transaction_id IS NULL THEN
        -- The key exists (committed before, or by a concurrent holder we waited for).
        SELECT t.id, t.fingerprint INTO transaction_id, v_existing
          FROM ledger_transactions t WHERE t.idempotency_key = p_key;
        status := CASE WHEN v_existing = v_fingerprint THEN 'replayed' ELSE 'key_reused' END;
        RETURN;
    END IF;

    IF NOT p_allow_frozen THEN
        PERFORM 1 FROM unnest(p_accounts, p_amounts) AS p(account_id, amount)
          JOIN accounts a ON a.id = p.account_id
         WHERE p.amount < 0 AND a.frozen;
        IF FOUND THEN
            RAISE EXCEPTION 'ledger transaction % debits a frozen wallet', p_key
                USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_wallet_frozen';
        END IF;
    END IF;

    INSERT INTO ledger_entries (transaction_id, account_id, currency, amount)
    SELECT ledger_post.transaction_id, p.account_id, p.currency, p.amount
      FROM unnest(p_accounts, p_currencies, p_amounts) AS p(account_id, currency, amount);
    status := 'posted';
END $$;
