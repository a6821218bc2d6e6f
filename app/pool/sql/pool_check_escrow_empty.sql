-- A pool is settled or refunded only with its escrow at exactly zero: every stake paid out,
-- refunded or raked. Checked when the status changes (pool_refuse_paid_escrow keeps it so).
CREATE OR REPLACE FUNCTION pool_check_escrow_empty() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    left_over numeric;
BEGIN
    SELECT coalesce(sum(amount), 0) INTO left_over
    FROM ledger_entries WHERE account_id = NEW.escrow_account_id;
    IF left_over <> 0 THEN
        RAISE EXCEPTION 'pool % cannot be %: its escrow still holds %',
            NEW.id, NEW.status, left_over
            USING ERRCODE = 'check_violation', CONSTRAINT = 'pool_escrow_empty';
    END IF;
    RETURN NULL;
END $$;
