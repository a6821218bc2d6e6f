"""Twitch: EventSub deliveries (webhook and WebSocket), OAuth and the Helix API."""
