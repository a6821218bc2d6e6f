-- A paid pool's escrow is exactly zero, enforced by PostgreSQL: checked when the pool is
-- settled or refunded, and no entry may touch it afterwards.
DROP TRIGGER IF EXISTS pools_paid_escrow_empty ON pools;
CREATE TRIGGER pools_paid_escrow_empty AFTER INSERT OR UPDATE OF status, escrow_account_id
    ON pools FOR EACH ROW WHEN (NEW.status IN ('settled', 'refunded'))
    EXECUTE FUNCTION pool_check_escrow_empty();

DROP TRIGGER IF EXISTS ledger_entries_paid_escrow ON ledger_entries;
CREATE TRIGGER ledger_entries_paid_escrow AFTER INSERT ON ledger_entries
    REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION pool_refuse_paid_escrow();
