-- Postings in canonical form for ledger_fingerprint: 'account:currency:amount' joined by ','
-- in the order of (account, currency, amount), whatever order they were given in.
CREATE OR REPLACE FUNCTION ledger_postings_text(
    p_accounts bigint[], p_currencies text[], p_amounts bigint[]
) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT string_agg(concat_ws(':', p.account_id, p.currency, p.amount), ','
                      ORDER BY p.account_id, p.currency COLLATE "C", p.amount)
      FROM unnest(p_accounts, p_currencies, p_amounts) AS p(account_id, currency, amount)
$$;
