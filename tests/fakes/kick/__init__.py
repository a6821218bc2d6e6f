"""A small fake of Kick (OAuth, the public API, RSA-signed webhook deliveries) in Kick's formats.

- ``objects``: webhook events as Kick renders them, and its ULIDs;
- ``signing``: deliveries signed with Kick's scheme (real RSA PKCS#1 v1.5, SHA-256);
- ``server``: the fake app's Kick (``FakeKick``), an aiohttp server on loopback;
- ``cli``: ``python -m tests.fakes.kick`` for trying things locally."""

from tests.fakes.kick.server import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, FakeKick

__all__ = ["DEFAULT_CLIENT_ID", "DEFAULT_CLIENT_SECRET", "FakeKick"]
