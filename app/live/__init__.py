"""What a viewer sees on entering a channel live: its pools, their wallets, leaderboard, chat."""
