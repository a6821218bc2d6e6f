"""The whole product in one browser session, as people use it: the streamer makes an overlay URL
in the dashboard and puts it on stream, two viewers bet on the demo pool from their phones and
laptops, the streamer locks and resolves it from the dashboard, and everyone sees the result:
the viewers their payout and new balance, the overlay the winning outcome and its top winner."""

from playwright.async_api import expect

from tests.web.conftest import PHONE, Site, screenshot
from tests.web.test_dashboard import card as dashboard_card
from tests.web.test_dashboard import open_demo_channel
from tests.web.test_viewer import (
    BALANCE,
    balance_of,
    bet,
    card,
    demo_pool,
    placed,
    sign_in,
)


async def test_a_pool_from_overlay_url_to_payout(site: Site) -> None:
    pool = await demo_pool(site)
    assert (pool["total"], pool["rake_bps"]) == (0, 0)  # a fresh demo pool of points
    pool_id, channel_id = pool["id"], pool["channel_id"]
    first, second = pool["outcomes"][0], pool["outcomes"][1]
    viewer, viewer2 = site.account("viewer"), site.account("viewer2")
    start = {who: await balance_of(site, who, channel_id) for who in (viewer, viewer2)}

    # The streamer makes an overlay URL and opens it the way OBS would.
    dashboard = await site.page("/dashboard")
    await open_demo_channel(dashboard, site)
    await dashboard.get_by_role("link", name="Overlay", exact=True).click()
    await dashboard.get_by_label("Label").fill("OBS main scene")
    await dashboard.get_by_role("button", name="Create overlay URL").click()
    url = await dashboard.get_by_role("textbox", name="Live pool overlay").input_value()
    assert url.startswith(f"{site.url}/overlay/demo?key=ovk_"), url
    overlay = await site.page(url.removeprefix(site.url), viewport={"width": 600, "height": 400})
    on_stream = overlay.locator(f"[data-pool='{pool_id}']")
    await expect(on_stream).to_contain_text(pool["title"])

    # Two viewers, a phone and a laptop, each in their own browser.
    one = await site.page("/c/demo", viewport=PHONE)
    two = await site.page("/c/demo")
    await sign_in(one, viewer)
    await sign_in(two, viewer2)
    await bet(one, pool_id, first["id"], "300")
    await placed(one, pool_id)
    await bet(two, pool_id, second["id"], "100")
    await placed(two, pool_id)
    pot = 400
    for page in (one, two):
        await expect(card(page, pool_id)).to_have_attribute("data-total", str(pot))
    await expect(on_stream.locator(f"[data-outcome='{first['id']}'] .total")).to_have_text(
        "300 pts"
    )

    # The streamer locks and resolves it from the dashboard, each step confirmed.
    await dashboard.get_by_role("link", name="Pools", exact=True).click()
    live = dashboard_card(dashboard, pool["title"])
    await live.get_by_role("button", name="Lock", exact=True).click()
    await (
        dashboard.get_by_role("dialog", name="Lock this pool?")
        .get_by_role("button", name="Lock betting")
        .click()
    )
    await expect(live.locator(".badge")).to_have_text("Locked")
    await expect(on_stream).to_contain_text("Betting closed")
    await live.get_by_role("button", name="Resolve…").click()
    dialog = dashboard.get_by_role("dialog", name="Which outcome won?")
    await dialog.get_by_label(first["label"]).check()
    await dialog.get_by_role("button", name="Resolve and pay out").click()

    # Everyone sees the result once the worker has paid the pool: the whole pot to the winner.
    await expect(card(one, pool_id).get_by_test_id("result")).to_contain_text("You won 400 pts")
    await expect(card(two, pool_id).get_by_test_id("result")).to_contain_text("did not win")
    paid = start[viewer] - 300 + pot
    assert await balance_of(site, viewer, channel_id) == paid
    assert await balance_of(site, viewer2, channel_id) == start[viewer2] - 100
    await expect(one.locator(BALANCE)).to_have_attribute("data-balance", str(paid))
    await expect(two.locator(BALANCE)).to_have_attribute("data-balance", str(start[viewer2] - 100))
    result = overlay.locator(".result")
    await expect(result).to_contain_text(f"Result: {first['label']}")
    await expect(result.locator(".winners")).to_contain_text("DemoViewer+400 pts")
    await screenshot(overlay, "journey-overlay-result", omit_background=True)
