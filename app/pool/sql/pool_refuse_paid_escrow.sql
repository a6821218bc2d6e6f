-- A settled or refunded pool's escrow is exactly zero (pool_check_escrow_empty, when it is
-- paid) and stays so: no entry may touch it afterwards. Once per statement, set-based.
CREATE OR REPLACE FUNCTION pool_refuse_paid_escrow() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    paid record;
BEGIN
    SELECT p.id, p.status INTO paid
    FROM (SELECT DISTINCT account_id FROM new_entries) AS touched
    JOIN pools AS p ON p.escrow_account_id = touched.account_id
    WHERE p.status IN ('settled', 'refunded') LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'pool % is %: its escrow takes no more entries', paid.id, paid.status
            USING ERRCODE = 'check_violation', CONSTRAINT = 'pool_escrow_closed';
    END IF;
    RETURN NULL;
END $$;
