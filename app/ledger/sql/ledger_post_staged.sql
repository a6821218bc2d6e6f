-- ledger_post for many transfers at once (settlement's payouts, refunds), set-based: one
-- transaction per row of the temporary table payouts (ref_id, account_id, amount, tx_id) with
-- amount > 0, moving amount from p_source to account_id, keyed p_key_prefix:ref_id, with memo
-- p_memo plus {p_ref_name: ref_id}, fingerprinted as ledger_post would. Returns how many were
-- posted. Rows whose key was used before for the same transfer are skipped (a replay); a key
-- used for another transfer raises (unique_violation, ledger_idempotency_key_reused).
CREATE OR REPLACE FUNCTION ledger_post_staged(
    p_key_prefix text, p_kind transaction_kind, p_memo jsonb, p_ref_name text,
    p_source bigint, p_currency text
) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    v_posted integer := 0;
    v_replay boolean := false;
BEGIN
    BEGIN
        -- The usual case, no key seen before: two plain set-based inserts.
        INSERT INTO ledger_transactions (id, idempotency_key, kind, fingerprint, memo)
        SELECT s.tx_id, p_key_prefix || ':' || s.ref_id, p_kind,
               ledger_fingerprint(p_kind, s.memo,
                   ledger_transfer_postings_text(p_source, s.account_id, p_currency, s.amount)),
               s.memo
          FROM (SELECT p.tx_id, p.ref_id, p.account_id, p.amount,
                       p_memo || jsonb_build_object(p_ref_name, p.ref_id) AS memo
                  FROM payouts p WHERE p.amount > 0) AS s;
        GET DIAGNOSTICS v_posted = ROW_COUNT;
    EXCEPTION WHEN unique_violation THEN
        v_replay := true;
    END;

    IF v_replay THEN
        -- Some keys were used before: each must be the same transfer, then only the new ones
        -- are posted.
        PERFORM 1 FROM payouts p
          JOIN ledger_transactions t ON t.idempotency_key = p_key_prefix || ':' || p.ref_id
         WHERE p.amount > 0
           AND t.fingerprint <> ledger_fingerprint(p_kind,
                   p_memo || jsonb_build_object(p_ref_name, p.ref_id),
                   ledger_transfer_postings_text(p_source, p.account_id, p_currency, p.amount));
        IF FOUND THEN
            RAISE EXCEPTION 'an idempotency key under % was used for another transaction',
                p_key_prefix
                USING ERRCODE = 'unique_violation', CONSTRAINT = 'ledger_idempotency_key_reused';
        END IF;
        INSERT INTO ledger_transactions (id, idempotency_key, kind, fingerprint, memo)
        SELECT s.tx_id, p_key_prefix || ':' || s.ref_id, p_kind,
               ledger_fingerprint(p_kind, s.memo,
                   ledger_transfer_postings_text(p_source, s.account_id, p_currency, s.amount)),
               s.memo
          FROM (SELECT p.tx_id, p.ref_id, p.account_id, p.amount,
                       p_memo || jsonb_build_object(p_ref_name, p.ref_id) AS memo
                  FROM payouts p WHERE p.amount > 0) AS s
        ON CONFLICT (idempotency_key) DO NOTHING;
        GET DIAGNOSTICS v_posted = ROW_COUNT;
        INSERT INTO ledger_entries (transaction_id, account_id, currency, amount)
        SELECT p.tx_id, line.account_id, p_currency, line.amount FROM payouts p
        CROSS JOIN LATERAL (VALUES (p_source, -p.amount), (p.account_id, p.amount))
            AS line(account_id, amount)
         WHERE p.amount > 0
           AND EXISTS (SELECT 1 FROM ledger_transactions t WHERE t.id = p.tx_id);
        RETURN v_posted;
    END IF;

    INSERT INTO ledger_entries (transaction_id, account_id, currency, amount)
    SELECT p.tx_id, line.account_id, p_currency, line.amount FROM payouts p
    CROSS JOIN LATERAL (VALUES (p_source, -p.amount), (p.account_id, p.amount))
        AS line(account_id, amount)
     WHERE p.amount > 0;
    RETURN v_posted;
END $$;
