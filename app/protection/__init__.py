"""Player protection for cash play: age, deposit limits, self-exclusion."""
