-- The one fingerprint of a ledger transaction, stored beside its idempotency key: a retry with
-- the same key is the same transaction exactly when its fingerprint is the same. It covers the
-- kind, the memo and the postings in canonical order (ledger_postings_text), and nothing else,
-- so it can always be recomputed from what the ledger stores. Python never computes one.
CREATE OR REPLACE FUNCTION ledger_fingerprint(
    p_kind transaction_kind, p_memo jsonb, p_postings_text text
) RETURNS bytea LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT sha256(convert_to(concat_ws('|', 'v2', p_kind::text, p_postings_text, p_memo::text),
                             'UTF8'))
$$;
