-- A transaction queued by ledger_check_balanced (its entries came in several statements) is
-- checked whole when the database transaction commits.
DROP TRIGGER IF EXISTS ledger_balance_rechecks_at_commit ON ledger_balance_rechecks;
CREATE CONSTRAINT TRIGGER ledger_balance_rechecks_at_commit AFTER INSERT
    ON ledger_balance_rechecks DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_recheck_balanced();
