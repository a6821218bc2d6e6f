"""The pages people open: the viewer page of a channel, the streamer dashboard and the OBS
overlay, each the same built HTML whatever the path (the page reads its channel from the URL),
and their assets with names that change with their content, cached for a year."""

from litestar import Controller, Response, Router, get
from litestar.datastructures import CacheControlHeader
from litestar.params import FromPath
from litestar.response import Redirect
from litestar.static_files import create_static_files_router

from app.kit.errors import AppError
from app.settings import Settings
from app.site.build import WebBuild

YEAR = 365 * 24 * 3600

#: Scripts, styles, sockets and images only from this origin; no framing of the pages that act
#: (the overlay is a browser source, not framed either). Inline styles: Preact sets bar widths.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self' ws: wss:; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


class WebAppNotBuilt(AppError):
    code = "web_app_not_built"
    status = 503
    message = "The web app is not built: run `make web` (make run builds it)."


def _page(build: WebBuild, name: str, *, referrer: str = "same-origin") -> Response[bytes]:
    html = build.page(name)
    if html is None:
        raise WebAppNotBuilt()
    return Response(
        html,
        media_type="text/html; charset=utf-8",
        headers={
            # Always asked again (a new build ships new asset names); the assets are immutable.
            "Cache-Control": "no-cache",
            "Content-Security-Policy": CSP,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": referrer,
        },
    )


def site_router(settings: Settings, build: WebBuild) -> Router:
    class SiteController(Controller):
        include_in_schema = False

        @get("/")
        async def home(self) -> Redirect:
            return Redirect("/c/demo" if settings.demo_enabled else "/dashboard")

        @get("/c/{slug:str}")
        async def viewer(self, slug: FromPath[str]) -> Response[bytes]:
            return _page(build, "viewer")

        @get(["/dashboard", "/dashboard/{rest:path}"])
        async def dashboard(self) -> Response[bytes]:
            return _page(build, "dashboard")

        @get("/overlay/{channel:str}")
        async def overlay(self, channel: FromPath[str]) -> Response[bytes]:
            # The URL carries the overlay key: never send it on as a referrer.
            return _page(build, "overlay", referrer="no-referrer")

    assets = create_static_files_router(
        path="/assets",
        directories=[build.assets],
        name="assets",
        cache_control=CacheControlHeader(public=True, max_age=YEAR, immutable=True),
        include_in_schema=False,
    )
    return Router(path="/", route_handlers=[SiteController, assets])
