"""YouTube (the Data API v3 through plain httpx, Google OAuth, WebSub push hints)."""
