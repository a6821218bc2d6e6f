-- The ledger's rules, enforced by PostgreSQL so that no caller, however buggy, can break them.
DROP TRIGGER IF EXISTS ledger_entries_append_only ON ledger_entries;
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

DROP TRIGGER IF EXISTS ledger_entries_no_truncate ON ledger_entries;
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

DROP TRIGGER IF EXISTS ledger_transactions_append_only ON ledger_transactions;
CREATE TRIGGER ledger_transactions_append_only BEFORE UPDATE OR DELETE ON ledger_transactions
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

DROP TRIGGER IF EXISTS ledger_transactions_no_truncate ON ledger_transactions;
CREATE TRIGGER ledger_transactions_no_truncate BEFORE TRUNCATE ON ledger_transactions
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

-- Statement-level with the statement's new entries (a transition table): the work is a few
-- set-based queries per INSERT, not a trigger call per entry. Transactions written across
-- several statements are checked again at commit (balance_recheck_trigger.sql).
DROP TRIGGER IF EXISTS ledger_entries_balanced ON ledger_entries;
CREATE TRIGGER ledger_entries_balanced AFTER INSERT ON ledger_entries
    REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_check_balanced();

DROP TRIGGER IF EXISTS ledger_entries_apply_to_wallets ON ledger_entries;
CREATE TRIGGER ledger_entries_apply_to_wallets AFTER INSERT ON ledger_entries
    REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_apply_to_wallets();

-- Audit trails of player protection and of channel staff are append-only too.
DROP TRIGGER IF EXISTS protection_audit_append_only ON protection_audit;
CREATE TRIGGER protection_audit_append_only BEFORE UPDATE OR DELETE ON protection_audit
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

DROP TRIGGER IF EXISTS channel_audit_append_only ON channel_audit;
CREATE TRIGGER channel_audit_append_only BEFORE UPDATE OR DELETE ON channel_audit
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
