"""What the fake stream platforms share: an aiohttp server on loopback, and one app's OAuth
tokens (``tests.fakes.oauth``)."""

from types import TracebackType
from typing import Self

from aiohttp import web

from tests.fakes.oauth import OAuthStore, Token


class FakePlatformServer:
    """A fake platform for one app (``client_id``/``client_secret``) on one loopback port; a
    platform adds its routes (``routes``)."""

    def __init__(self, oauth: OAuthStore) -> None:
        self.oauth = oauth
        self._runner: web.AppRunner | None = None
        self.url = ""

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> Self:
        app = web.Application()
        self.routes(app)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        self.url = f"http://{host}:{self._runner.addresses[0][1]}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def client_id(self) -> str:
        return self.oauth.client_id

    @property
    def client_secret(self) -> str:
        return self.oauth.client_secret

    @property
    def tokens(self) -> dict[str, Token]:
        return self.oauth.tokens

    def issue_token(self, user_id: str | None, scopes: list[str] | None = None) -> Token:
        """A token straight from the store: a user token (with a refresh token) or, for
        ``user_id=None``, an app token."""
        return self.oauth.issue(user_id, scopes)

    def revoke(self, access_token: str, *, with_refresh_token: bool = True) -> None:
        """The user disconnects the app: the token (and its refresh token) stop working."""
        self.oauth.revoke(access_token, with_refresh_token=with_refresh_token)
