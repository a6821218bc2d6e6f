"""The web process served the way production serves it, with some settings changed."""

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
import uvicorn

from app.asgi import create_app
from app.cli import uvicorn_config
from app.kit.embedded import free_port
from app.settings import Settings

ServeApp = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def serve_app(settings: Settings) -> ServeApp:
    """``async with serve_app(login_max_per_address=2) as client``: a client of the app served
    by uvicorn with app.cli.uvicorn_config (trusted proxies included) on a loopback port."""

    @asynccontextmanager
    async def serve(**changes: Any) -> AsyncIterator[httpx.AsyncClient]:
        changed = settings.model_copy(update=changes)
        config = uvicorn_config(changed, create_app(changed), host="127.0.0.1", port=free_port())
        config.timeout_graceful_shutdown = 1
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
        try:
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{config.port}", timeout=60
            ) as client:
                yield client
        finally:
            server.should_exit = True
            await task

    return serve
