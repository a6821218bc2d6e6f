"""The stream platforms' event pipeline: their webhooks in, one PlatformEvent out to the rules."""
