-- Whether a currency (cash:<ISO> or points:<channel id>) is cash: the one SQL spelling of the
-- rule app/kit/currency.py's is_cash() applies in Python.
CREATE OR REPLACE FUNCTION currency_is_cash(p_currency text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT starts_with(p_currency, 'cash:')
$$;
