"""The pages and their assets as the web process serves them, and the API docs offline."""

import os
import re
from pathlib import Path

import httpx
import pytest

from app.asgi import create_app
from app.settings import Settings
from app.site.build import load_build
from tests.conftest import serve
from tests.web.conftest import Site, screenshot


@pytest.mark.parametrize(
    "path", ["/c/demo", "/dashboard", "/dashboard/channels/1", "/overlay/demo"]
)
async def test_pages_are_served_fresh_with_a_strict_policy(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-cache"
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    # Everything the page loads comes from here, under names that change with the content.
    sources = re.findall(r'(?:src|href)="([^"]+)"', response.text)
    assert sources, response.text
    assert all(re.fullmatch(r"/assets/[\w.-]+-[\w-]{8}\.(js|css|svg)", s) for s in sources), sources


async def test_the_overlay_page_never_sends_its_key_on(client: httpx.AsyncClient) -> None:
    response = await client.get("/overlay/demo?key=ovk_secret")
    assert response.headers["referrer-policy"] == "no-referrer"


async def test_assets_are_cached_for_a_year(client: httpx.AsyncClient) -> None:
    page = await client.get("/c/demo")
    script = re.search(r'src="(/assets/[^"]+\.js)"', page.text)
    assert script is not None
    response = await client.get(script.group(1))
    assert response.status_code == 200
    assert "javascript" in response.headers["content-type"]
    cache = response.headers["cache-control"]
    assert "max-age=31536000" in cache and "immutable" in cache and "public" in cache


async def test_a_missing_asset_is_a_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/assets/nothing-here-12345678.js")).status_code == 404


async def test_the_home_page_leads_to_the_demo_channel(client: httpx.AsyncClient) -> None:
    response = await client.get("/", follow_redirects=False)
    assert response.status_code in (301, 302, 307, 308)
    assert response.headers["location"] == "/c/demo"


async def test_an_unbuilt_app_answers_a_clear_503(tmp_path: Path, settings: Settings) -> None:
    assert not load_build(str(tmp_path)).built
    app = create_app(settings.model_copy(update={"web_dist": str(tmp_path)}))
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as http:
        response = await http.get("/c/demo")
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "web_app_not_built"
        assert "make web" in response.json()["error"]["message"]
        assert (await http.get("/api/v1/channels/by-slug/demo")).status_code == 404


async def test_the_api_docs_work_offline(site: Site) -> None:
    """Swagger UI draws the API from assets served here; `site` fails the test if any
    request leaves the machine (a CDN, a font host)."""
    page = await site.page("/schema")
    await page.locator(".swagger-ui .info .title").wait_for()
    assert "streampools" in await page.locator(".swagger-ui .info .title").inner_text()
    await page.locator(".opblock").first.wait_for()
    await screenshot(page, "api-docs")


async def test_a_rebuilt_page_is_served_without_a_restart(
    tmp_path: Path, settings: Settings
) -> None:
    for name in ("viewer", "dashboard", "overlay"):
        (tmp_path / f"{name}.html").write_text(f"<p>{name} one</p>")
    app = create_app(settings.model_copy(update={"web_dist": str(tmp_path)}))
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as http:
        assert (await http.get("/c/demo")).text == "<p>viewer one</p>"
        page = tmp_path / "viewer.html"
        page.write_text("<p>viewer two</p>")
        os.utime(page, ns=(page.stat().st_mtime_ns + 10**9,) * 2)
        assert (await http.get("/c/demo")).text == "<p>viewer two</p>"
