-- The commit-time check of a transaction queued by ledger_check_balanced: all its entries,
-- whichever statement wrote them, sum to zero per currency. Then it leaves the queue.
CREATE OR REPLACE FUNCTION ledger_recheck_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    unbalanced record;
BEGIN
    SELECT currency, sum(amount) AS total INTO unbalanced
    FROM ledger_entries WHERE transaction_id = NEW.transaction_id
    GROUP BY currency HAVING sum(amount) <> 0 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger transaction % does not balance: % is off by %',
            NEW.transaction_id, unbalanced.currency, unbalanced.total
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_transaction_balanced';
    END IF;
    DELETE FROM ledger_balance_rechecks WHERE transaction_id = NEW.transaction_id;
    RETURN NULL;
END $$;
