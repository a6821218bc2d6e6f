"""Overlay keys: read-only, revocable keys for a channel's OBS browser-source overlays."""
