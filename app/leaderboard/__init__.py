"""Leaderboards per channel and currency: net winnings and wins, all-time, 7 and 30 days."""
