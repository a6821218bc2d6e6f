"""The viewer page's notification inbox in a real browser: a viewer bets, the pool is resolved,
the "you won" notification arrives live under the bell, and is marked read, by the mouse and
by the keyboard."""

import re

from playwright.async_api import expect

from app.kit.uow import unit_of_work
from app.models.notification import NotificationKind
from app.notification.service import notification_service
from tests.web.conftest import Site, screenshot
from tests.web.test_viewer import bet, demo_pool, placed, rest, sign_in


async def test_a_win_arrives_in_the_inbox_and_is_marked_read(site: Site) -> None:
    pool = await demo_pool(site)
    pool_id, first, second = pool["id"], pool["outcomes"][0]["id"], pool["outcomes"][1]["id"]
    viewer = site.account("viewer")
    async with rest(site, viewer) as http:  # the demo pool's "opened" is read already
        assert (await http.post("/api/v1/me/notifications/read-all")).is_success
    page = await site.page("/c/demo")
    await sign_in(page, viewer)
    bell = page.get_by_role("button", name=re.compile(r"^Notifications, "))
    await expect(bell).to_have_attribute("aria-label", "Notifications, none unread")

    await bet(page, pool_id, first, "40")
    await placed(page, pool_id)
    async with rest(site, site.account("viewer2")) as http:
        answer = await http.post(
            f"/api/v1/pools/{pool_id}/bets",
            json={"outcome_id": second, "amount": 60},
            headers={"Idempotency-Key": "inbox-test-other-side"},
        )
        assert answer.is_success, answer.text
    async with rest(site, site.account("streamer")) as http:
        assert (await http.post(f"/api/v1/pools/{pool_id}/lock")).status_code == 200
        resolved = await http.post(f"/api/v1/pools/{pool_id}/resolve", json={"outcome_id": first})
        assert resolved.status_code == 200, resolved.text

    # Live, without a reload: the bell counts it, the panel lists it first.
    await expect(bell).to_have_attribute("aria-label", "Notifications, 1 unread")
    await expect(page.get_by_test_id("unread")).to_have_text("1")
    await bell.click()
    panel = page.get_by_role("region", name="Notifications")
    await expect(panel.get_by_role("heading", name="Notifications")).to_be_focused()
    won = panel.get_by_test_id("notification").first
    await expect(won).to_have_attribute("data-kind", "pool.won")
    await expect(won).to_contain_text("You won 100 points!")
    await expect(won).to_contain_text("Unread")
    await screenshot(page, "viewer-inbox")

    await won.get_by_role("button", name=re.compile(r"^Mark .* read$")).click()
    await expect(won).not_to_contain_text("Unread")
    await expect(bell).to_have_attribute("aria-label", "Notifications, none unread")
    await expect(page.get_by_test_id("unread")).to_have_count(0)

    # The server agrees (the demo's next pool may have opened meanwhile: that one is unread).
    async with rest(site, viewer) as http:
        inbox = (await http.get("/api/v1/me/notifications")).json()
    [stored] = [n for n in inbox["notifications"] if n["kind"] == "pool.won"]
    assert stored["read_at"] is not None and stored["pool_id"] == pool_id

    # Escape closes the panel and gives the focus back to the bell.
    await page.keyboard.press("Escape")
    await expect(panel).to_have_count(0)
    await expect(bell).to_be_focused()


async def test_mark_all_read_and_load_more_from_the_keyboard(site: Site) -> None:
    viewer = site.account("viewer")
    async with rest(site, viewer) as http:
        me = (await http.get("/api/v1/me")).json()
        assert (await http.post("/api/v1/me/notifications/read-all")).is_success
    async with unit_of_work(site.resources) as session:
        for n in range(25):
            await notification_service.notify(
                session,
                [me["id"]],
                kind=NotificationKind.deposit_credited,
                event_key=f"deposit.credited:browser:{n}",
                title=f"Deposit {n} credited",
                body="It is in your wallet.",
            )
    page = await site.page("/c/demo")
    await sign_in(page, viewer)
    bell = page.get_by_role("button", name=re.compile(r"^Notifications, "))
    await expect(bell).to_have_attribute("aria-label", "Notifications, 25 unread")
    await bell.focus()
    await page.keyboard.press("Enter")
    panel = page.get_by_role("region", name="Notifications")
    items = panel.get_by_test_id("notification")
    await expect(items).to_have_count(20)
    await expect(items.first).to_contain_text("Deposit 24 credited")
    await panel.get_by_role("button", name="Load more").focus()
    await page.keyboard.press("Enter")
    await expect(items.filter(has_text="credited")).to_have_count(25)
    await expect(panel.get_by_role("button", name="Load more")).to_have_count(0)
    await expect(items.filter(has_text="credited").last).to_contain_text("Deposit 0 credited")
    await panel.get_by_role("button", name="Mark all read").click()
    await expect(bell).to_have_attribute("aria-label", "Notifications, none unread")
    await expect(panel.get_by_text("Unread")).to_have_count(0)
