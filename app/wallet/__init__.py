"""Wallets: a user's balances and their history."""
