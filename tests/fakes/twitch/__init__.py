"""A small fake of Twitch."""
