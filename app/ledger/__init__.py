"""The double-entry ledger: the one way money moves."""
