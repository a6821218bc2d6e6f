-- ledger_postings_text of a two-posting transfer (-amount from, +amount to, one currency),
-- without sorting a set: settlement fingerprints thousands of transfers in one statement.
-- tests/ledger/test_posting.py checks that both give the same text.
CREATE OR REPLACE FUNCTION ledger_transfer_postings_text(
    p_from bigint, p_to bigint, p_currency text, p_amount bigint
) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE WHEN p_from < p_to OR (p_from = p_to AND p_amount > 0)
        THEN concat_ws(',', concat_ws(':', p_from, p_currency, -p_amount),
                            concat_ws(':', p_to, p_currency, p_amount))
        ELSE concat_ws(',', concat_ws(':', p_to, p_currency, p_amount),
                            concat_ws(':', p_from, p_currency, -p_amount))
    END
$$;
