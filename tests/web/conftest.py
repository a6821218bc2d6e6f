"""Browser tests: the built web app (web/dist) served by the whole web process on loopback, a
real arq worker beside it, and one headless Chromium (Debian's, driven by Playwright) shared by
the run; each person gets a browser context of their own (cookies, storage)."""

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from playwright.async_api import (
    Browser,
    BrowserContext,
    Page,
    Request,
    ViewportSize,
    async_playwright,
)

from app.asgi import create_app
from app.demo.service import DemoAccount, demo_service
from app.kit.embedded import free_port
from app.kit.http import resources_of
from app.kit.migrate import PROJECT_ROOT
from app.kit.resources import Resources
from app.kit.uow import unit_of_work
from app.settings import Settings
from app.site.build import load_build
from tests.conftest import LiveServer, running_worker, serve

CHROMIUM = os.environ.get("STREAMPOOLS_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = PROJECT_ROOT / ".data" / "screenshots"
#: Flags for a root, headless Chromium on a machine with no route out: no sandbox (root), no
#: GPU, and none of the background traffic to Google's hosts that a closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}


@pytest.fixture(scope="session")
def web_build() -> None:
    if not load_build(str(PROJECT_ROOT / "web" / "dist")).built:
        pytest.fail("the web app is not built: `make web` (make test builds it)", pytrace=False)
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: `make chromium` installs it", pytrace=False)


@pytest.fixture(scope="session")
async def browser(web_build: None) -> AsyncIterator[Browser]:
    """One headless Chromium for the whole run."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        await launched.close()


def served_at(settings: Settings, port: int) -> Settings:
    """The settings of a web process serving browsers on ``port`` of loopback: its own origin
    is the one its pages and sockets come from, so Socket.IO accepts them."""
    url = f"http://127.0.0.1:{port}"
    return settings.model_copy(update={"port": port, "public_url": url, "cors_origins": [url]})


@pytest.fixture
async def live_server(settings: Settings) -> AsyncIterator[LiveServer]:
    """The whole web process on a loopback port, accepting browsers of its own origin."""
    port = free_port()
    app = create_app(served_at(settings, port))
    async with serve(app, port) as url:
        http = app.other_asgi_app
        assert isinstance(http, Litestar)
        yield LiveServer(url, resources_of(http.state))


@pytest.fixture
async def background_worker(live_server: LiveServer) -> AsyncIterator[None]:
    async with running_worker(live_server.resources):
        yield


@dataclass
class Site:
    """The platform as a browser sees it: the demo seeded, pages, people."""

    url: str
    resources: Resources
    browser: Browser
    accounts: list[DemoAccount]
    contexts: list[BrowserContext] = field(default_factory=list)
    #: Requests that left loopback (a CDN, a font host): none may.
    outside: list[str] = field(default_factory=list)
    #: Uncaught errors in any page's JavaScript.
    page_errors: list[str] = field(default_factory=list)

    async def page(
        self,
        path: str = "/",
        viewport: ViewportSize | None = None,
        *,
        timezone_id: str | None = None,
    ) -> Page:
        """A new person (their own context: storage, cookies; their time zone if given, else
        the machine's) with a page open at ``path``."""
        context = await self.browser.new_context(
            viewport=viewport or DESKTOP, base_url=self.url, timezone_id=timezone_id
        )
        context.set_default_timeout(10_000)
        self.contexts.append(context)

        async def watch(request: Request) -> None:
            if not request.url.startswith(
                ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:http://127.0.0.1")
            ):
                self.outside.append(request.url)

        context.on("request", watch)
        page = await context.new_page()
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        if path:
            await page.goto(path)
        return page

    def account(self, email_prefix: str) -> DemoAccount:
        return next(a for a in self.accounts if a.email.startswith(email_prefix + "@"))


async def screenshot(page: Page, name: str, *, omit_background: bool = False) -> Path:
    """Save what the page shows now under .data/screenshots/ (the README's come from here)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=False, omit_background=omit_background)
    return path


@pytest.fixture
async def site(
    live_server: LiveServer, background_worker: None, browser: Browser
) -> AsyncIterator[Site]:
    resources = live_server.resources
    async with unit_of_work(resources) as session:
        accounts = await demo_service.seed(session, resources)
    opened = Site(live_server.url, resources, browser, accounts)
    yield opened
    for context in opened.contexts:
        await context.close()
    assert not opened.page_errors, f"JavaScript errors in the pages: {opened.page_errors}"
    assert not opened.outside, f"requests left the machine: {opened.outside}"


class RestartableServer:
    """The whole web process on a port of its own that a test stops and starts again (a deploy,
    a crash): the same port, the same PostgreSQL and Redis, a new process state."""

    def __init__(self, settings: Settings) -> None:
        self.port = free_port()
        self.settings = served_at(settings, self.port)
        self.url = f"http://127.0.0.1:{self.port}"
        self._serving: AbstractAsyncContextManager[str] | None = None

    async def start(self) -> None:
        assert self._serving is None, "already serving"
        self._serving = serve(create_app(self.settings), self.port)
        await self._serving.__aenter__()

    async def stop(self) -> None:
        if self._serving is not None:
            serving, self._serving = self._serving, None
            await serving.__aexit__(None, None, None)


@pytest.fixture
async def restartable_site(
    settings: Settings, resources: Resources, browser: Browser
) -> AsyncIterator[tuple[Site, RestartableServer]]:
    """Like ``site``, served by a web process the test may restart on the same port; the
    worker and the test's own connections (``site.resources``) outlive the restarts."""
    server = RestartableServer(settings)
    await server.start()
    async with running_worker(resources):
        async with unit_of_work(resources) as session:
            accounts = await demo_service.seed(session, resources)
        opened = Site(server.url, resources, browser, accounts)
        try:
            yield opened, server
        finally:
            for context in opened.contexts:
                await context.close()
            await server.stop()
    assert not opened.page_errors, f"JavaScript errors in the pages: {opened.page_errors}"
    assert not opened.outside, f"requests left the machine: {opened.outside}"


SignIn = Callable[[Page, DemoAccount], Awaitable[None]]


async def wait_until(check: Callable[[], Awaitable[Any]], within: float = 5.0) -> Any:
    """Poll ``check`` until it returns something truthy (for state outside the page)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        if value := await check():
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out waiting")
        await asyncio.sleep(0.05)
