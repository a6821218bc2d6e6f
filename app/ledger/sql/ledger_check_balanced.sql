-- Each transaction's entries sum to zero per currency. Checked once per INSERT statement on
-- ledger_entries, set-based over the statement's new entries (no work per row): entries are
-- append-only, so a transaction balanced before the statement is balanced after it exactly
-- when the statement's own entries for it sum to zero. A transaction whose entries come in
-- several statements (not ledger_post's way, but allowed) is queued in
-- ledger_balance_rechecks and checked whole when the database transaction commits
-- (ledger_recheck_balanced), as every transaction was before.
CREATE OR REPLACE FUNCTION ledger_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ledger_balance_rechecks (transaction_id)
    SELECT DISTINCT transaction_id FROM new_entries
    GROUP BY transaction_id, currency HAVING sum(amount) <> 0;
    RETURN NULL;
END $$;
