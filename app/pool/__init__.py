"""Pools, bets and their settlement."""
