"""Automations: a channel's rules acting on its platform events (stream online/offline, Twitch predictions) through the pool lifecycle."""
