-- Each new entry belongs to an existing transaction and to an existing account of its own
-- currency: the two foreign keys of ledger_entries, checked once per INSERT statement over the
-- statement's new entries instead of a lookup and a row lock per entry. What a foreign key
-- also guarantees, that the referenced row stays, holds by the other rules: transactions are
-- append-only and accounts are never deleted or given another id or currency
-- (ledger_refuse_account_rekey, reference_triggers.sql).
CREATE OR REPLACE FUNCTION ledger_check_references() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    missing record;
BEGIN
    SELECT e.transaction_id INTO missing
    FROM (SELECT DISTINCT transaction_id FROM new_entries) AS e
    WHERE NOT EXISTS (SELECT 1 FROM ledger_transactions AS t WHERE t.id = e.transaction_id)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'insert or update on table "ledger_entries" violates foreign key '
            'constraint "fk_ledger_entries_transaction_id_ledger_transactions"'
            USING ERRCODE = 'foreign_key_violation',
                  CONSTRAINT = 'fk_ledger_entries_transaction_id_ledger_transactions',
                  DETAIL = format('Key (transaction_id)=(%s) is not present in table '
                                  '"ledger_transactions".', missing.transaction_id);
    END IF;
    SELECT e.account_id, e.currency INTO missing
    FROM (SELECT DISTINCT account_id, currency FROM new_entries) AS e
    WHERE NOT EXISTS (SELECT 1 FROM accounts AS a
                      WHERE a.id = e.account_id AND a.currency = e.currency)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'insert or update on table "ledger_entries" violates foreign key '
            'constraint "fk_ledger_entries_account_currency"'
            USING ERRCODE = 'foreign_key_violation',
                  CONSTRAINT = 'fk_ledger_entries_account_currency',
                  DETAIL = format('Key (account_id, currency)=(%s, %s) is not present in table '
                                  '"accounts".', missing.account_id, missing.currency);
    END IF;
    RETURN NULL;
END $$;
