"""Channels: a streamer's community, its links, moderators and points."""
