"""Kick's public API: OAuth on id.kick.com, the API, and signed webhook deliveries."""
