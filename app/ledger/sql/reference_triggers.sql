-- The references of ledger entries, set-based (ledger_check_references), and what keeps them
-- valid: an account is never deleted, truncated or given another id or currency.
DROP TRIGGER IF EXISTS ledger_entries_references ON ledger_entries;
CREATE TRIGGER ledger_entries_references AFTER INSERT ON ledger_entries
    REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_check_references();

DROP TRIGGER IF EXISTS accounts_never_deleted ON accounts;
CREATE TRIGGER accounts_never_deleted BEFORE DELETE ON accounts
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

DROP TRIGGER IF EXISTS accounts_no_truncate ON accounts;
CREATE TRIGGER accounts_no_truncate BEFORE TRUNCATE ON accounts
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

DROP TRIGGER IF EXISTS accounts_keep_identity ON accounts;
CREATE TRIGGER accounts_keep_identity BEFORE UPDATE OF id, currency ON accounts
    FOR EACH ROW WHEN (OLD.id <> NEW.id OR OLD.currency <> NEW.currency)
    EXECUTE FUNCTION ledger_refuse_account_rekey();
