-- An account keeps its id and currency for good: ledger entries refer to both.
CREATE OR REPLACE FUNCTION ledger_refuse_account_rekey() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'account % keeps its id and currency: ledger entries refer to them', OLD.id
        USING ERRCODE = 'restrict_violation';
END $$;
