"""The platform served on a port known before it starts (a platform's OAuth sends the browser
back to the public URL: the one really served), for the README's platform walk-throughs."""

from collections.abc import AsyncIterator

import pytest
from litestar import Litestar

from app.asgi import create_app
from app.kit.embedded import free_port
from app.kit.http import resources_of
from app.settings import Settings
from tests.conftest import LiveServer, serve


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
async def live_server(settings: Settings, port: int) -> AsyncIterator[LiveServer]:
    app = create_app(settings)
    async with serve(app, port) as url:
        http = app.other_asgi_app
        assert isinstance(http, Litestar)
        yield LiveServer(url, resources_of(http.state))
