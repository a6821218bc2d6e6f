"""The OBS overlay in a real browser: signed in with a read-only overlay key, it shows the
channel's current pool with bars that follow the bets, then the result with the top winners; a
revoked or wrong key says so; the leaderboard variant; a transparent page."""

import time
import uuid
from typing import Any

import httpx
from playwright.async_api import Page, expect

from tests.web.conftest import Site, screenshot
from tests.web.test_dashboard import api_login


async def demo_pool(http: httpx.AsyncClient) -> dict[str, Any]:
    channel = (await http.get("/api/v1/channels/by-slug/demo")).json()
    pools = (await http.get(f"/api/v1/channels/{channel['id']}/pools?status=open")).json()
    pool: dict[str, Any] = pools["pools"][0]
    return pool


async def overlay_key(http: httpx.AsyncClient, site: Site, label: str = "OBS") -> dict[str, Any]:
    streamer = await api_login(http, site.account("streamer"))
    channel = (await http.get("/api/v1/channels/by-slug/demo")).json()
    response = await http.post(
        f"/api/v1/channels/{channel['id']}/overlay-keys", json={"label": label}, headers=streamer
    )
    assert response.status_code == 201, response.text
    key: dict[str, Any] = {**response.json(), "auth": streamer}
    return key


async def bet(
    http: httpx.AsyncClient, site: Site, who: str, pool: dict[str, Any], n: int, amount: int
) -> None:
    auth = await api_login(http, site.account(who))
    response = await http.post(
        f"/api/v1/pools/{pool['id']}/bets",
        json={"outcome_id": pool["outcomes"][n]["id"], "amount": amount},
        headers={**auth, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert response.status_code == 201, response.text


async def bar_scale(page: Page, outcome_id: int) -> float:
    """The bar's drawn width as a share of its row (the transform's end value)."""
    scale: float = await page.locator(f"[data-outcome='{outcome_id}'] .fill").evaluate(
        "el => new DOMMatrix(el.style.transform === '' ? 'none' : el.style.transform).a"
    )
    return scale


async def test_the_overlay_follows_a_pool_to_its_result(site: Site) -> None:
    async with httpx.AsyncClient(base_url=site.url) as http:
        key = await overlay_key(http, site)
        pool = await demo_pool(http)
        page = await site.page(
            key["url"].removeprefix(site.url), viewport={"width": 600, "height": 400}
        )
        card = page.locator(f"[data-pool='{pool['id']}']")
        await expect(card).to_contain_text(pool["title"])
        await expect(card).to_contain_text("Locks in")
        # A page laid over the stream: nothing drawn around the card.
        background = await page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == "rgba(0, 0, 0, 0)"

        first, second = (o["id"] for o in pool["outcomes"][:2])
        await bet(http, site, "viewer", pool, 0, 300)
        started = time.monotonic()
        await expect(card.locator(f"[data-outcome='{first}'] .total")).to_have_text("300 pts")
        assert time.monotonic() - started < 1.0
        await bet(http, site, "viewer2", pool, 1, 100)
        await expect(card.locator(f"[data-outcome='{second}'] .share")).to_have_text("25%")
        assert await bar_scale(page, first) == 0.75
        await expect(card).to_contain_text("400 pts in the pot")
        await screenshot(page, "overlay", omit_background=True)

        for step, body in (("lock", None), ("resolve", {"outcome_id": first})):
            response = await http.post(
                f"/api/v1/pools/{pool['id']}/{step}", json=body, headers=key["auth"]
            )
            assert response.status_code == 200, response.text
        result = page.locator(".result")
        await expect(result).to_contain_text("Result: First try")
        # The worker settles it; the top winner and their payout follow.
        await expect(result.locator(".winners")).to_contain_text("DemoViewer")
        await expect(result.locator(".winners")).to_contain_text("+400 pts")
        await screenshot(page, "overlay-result", omit_background=True)

        board = await site.page(
            key["url"].removeprefix(site.url) + "&view=leaderboard",
            viewport={"width": 600, "height": 400},
        )
        await expect(board.locator(".leaderboard")).to_contain_text("DemoViewer")


async def test_a_wrong_or_revoked_key_says_so(site: Site) -> None:
    async with httpx.AsyncClient(base_url=site.url) as http:
        key = await overlay_key(http, site)
        wrong = await site.page("/overlay/demo?key=ovk_not_a_key")
        await expect(wrong.get_by_role("alert")).to_contain_text("revoked or is not valid")
        missing = await site.page("/overlay/demo")
        await expect(missing.get_by_role("alert")).to_contain_text("no key")

        page = await site.page(key["url"].removeprefix(site.url))
        await expect(page.locator(".card")).to_be_visible()
        response = await http.delete(
            f"/api/v1/channels/{key['channel_id']}/overlay-keys/{key['id']}", headers=key["auth"]
        )
        assert response.status_code == 204
        await expect(page.get_by_role("alert")).to_contain_text("revoked or is not valid")
