"""A small fake of Google OAuth and the YouTube Data API v3 (channels, live broadcasts, live chat
pages with their history, ``pollingIntervalMillis`` and ``offlineAt``, inserts, quota units and
``quotaExceeded``) and of the WebSub hub's signed notifications, as an aiohttp server on
loopback."""

from tests.fakes.youtube.server import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, FakeYouTube

__all__ = ["DEFAULT_CLIENT_ID", "DEFAULT_CLIENT_SECRET", "FakeYouTube"]
