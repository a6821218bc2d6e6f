"""Platform identities: sign-in and linking with Twitch (and later Kick, YouTube), chat-only viewers and their merge into full accounts, and the platform tokens."""
