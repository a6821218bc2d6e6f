"""The streamer dashboard in a real browser: a streamer signs in, opens pools from scratch and
from a template, watches a viewer's bet arrive live, locks and resolves through the confirmation
dialogs until the worker has paid the pool, and runs their moderators and automations."""

import uuid
from typing import Any

import httpx
from playwright.async_api import Locator, Page, expect

from app.demo.service import DemoAccount
from tests.web.conftest import Site, screenshot


async def sign_in(page: Page, account: DemoAccount) -> None:
    await page.get_by_label("Email").fill(account.email)
    await page.get_by_label("Password").fill(account.password)
    await page.get_by_role("button", name="Sign in", exact=True).click()


async def api_login(http: httpx.AsyncClient, account: DemoAccount) -> dict[str, str]:
    response = await http.post(
        "/api/v1/auth/login", json={"email": account.email, "password": account.password}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def find_pool(http: httpx.AsyncClient, channel_id: int, title: str) -> dict[str, Any]:
    pools = (await http.get(f"/api/v1/channels/{channel_id}/pools")).json()["pools"]
    pool: dict[str, Any] = next(p for p in pools if p["title"] == title)
    return pool


async def place_bet(
    http: httpx.AsyncClient, auth: dict[str, str], pool: dict[str, Any], outcome: int, amount: int
) -> None:
    response = await http.post(
        f"/api/v1/pools/{pool['id']}/bets",
        json={"outcome_id": pool["outcomes"][outcome]["id"], "amount": amount},
        headers={**auth, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert response.status_code == 201, response.text


def card(page: Page, title: str) -> Locator:
    return page.locator("article.pool-card", has_text=title)


async def open_demo_channel(page: Page, site: Site) -> int:
    await sign_in(page, site.account("streamer"))
    await page.get_by_role("link", name="Demo boss fights").click()
    await expect(page.get_by_role("heading", name="Live pools")).to_be_visible()
    return int(page.url.rstrip("/").rsplit("/", 1)[-1])


async def test_a_streamer_runs_pools_live_from_the_dashboard(site: Site) -> None:
    page = await site.page("/dashboard")
    channel_id = await open_demo_channel(page, site)
    await expect(page.get_by_text("● Live")).to_be_visible()

    # From scratch: the question, two outcomes, a window.
    new_pool = page.get_by_role("region", name="New pool")
    await new_pool.get_by_label("Question").fill("Dashboard pool: which colour?")
    await new_pool.get_by_label("Outcome 1", exact=True).fill("Red")
    await new_pool.get_by_label("Outcome 2", exact=True).fill("Blue")
    await new_pool.get_by_role("button", name="Open pool", exact=True).click()
    scratch = card(page, "Dashboard pool: which colour?")
    await expect(scratch.locator(".badge")).to_have_text("Open")

    # From a template it saves first.
    templates = page.get_by_role("region", name="Templates")
    await templates.get_by_role("button", name="+ New template").click()
    await templates.get_by_label("Template name").fill("Boss rush")
    await templates.get_by_label("Question").fill("Template pool: boss down?")
    await templates.get_by_label("Outcome 1", exact=True).fill("Up")
    await templates.get_by_label("Outcome 2", exact=True).fill("Down")
    await templates.get_by_role("button", name="Save template").click()
    await templates.get_by_role("button", name="Open a pool from Boss rush").click()
    templated = card(page, "Template pool: boss down?")
    await expect(templated.locator(".badge")).to_have_text("Open")

    # A viewer bets by REST: the stake and the bettor show up live.
    async with httpx.AsyncClient(base_url=site.url) as http:
        viewer = await api_login(http, site.account("viewer"))
        pool = await find_pool(http, channel_id, "Dashboard pool: which colour?")
        await place_bet(http, viewer, pool, 0, 120)
        await expect(scratch.locator(".pool-total")).to_have_text("120 pts")
        await expect(scratch.locator(".pool-bettors")).to_have_text("1")
        await expect(scratch.get_by_role("cell", name="DemoViewer", exact=True)).to_be_visible()
        await expect(scratch.get_by_role("cell", name="120 pts")).to_be_visible()
        viewer2 = await api_login(http, site.account("viewer2"))
        await place_bet(
            http, viewer2, await find_pool(http, channel_id, "Template pool: boss down?"), 0, 80
        )
        await place_bet(
            http, viewer, await find_pool(http, channel_id, "Template pool: boss down?"), 1, 30
        )
        await expect(templated.locator(".pool-total")).to_have_text("110 pts")
        await expect(templated.get_by_role("cell", name="DemoViewer2", exact=True)).to_be_visible()
        await page.evaluate("window.scrollTo(0, 0)")
        await screenshot(page, "dashboard")

        # Lock, then resolve, each through its confirmation.
        await scratch.get_by_role("button", name="Lock", exact=True).click()
        dialog = page.get_by_role("dialog", name="Lock this pool?")
        await expect(dialog).to_be_visible()
        await expect(dialog.get_by_role("button", name="Keep betting open")).to_be_focused()
        await dialog.get_by_role("button", name="Lock betting").click()
        await expect(scratch.locator(".badge")).to_have_text("Locked")
        await scratch.get_by_role("button", name="Resolve…").click()
        dialog = page.get_by_role("dialog", name="Which outcome won?")
        await dialog.get_by_label("Red").check()
        await dialog.get_by_role("button", name="Resolve and pay out").click()
        result = page.get_by_role("region", name="Recent pools").locator(
            "li", has_text="Dashboard pool: which colour?"
        )
        await expect(result.locator(".badge")).to_have_text("Settled", timeout=15_000)
        await expect(result).to_contain_text("Winner: Red")
        await expect(page.get_by_role("status")).to_contain_text("resolved")

        # Cancel asks first; Escape keeps the pool.
        await templated.get_by_role("button", name="Cancel pool").click()
        dialog = page.get_by_role("dialog", name="Cancel this pool?")
        await expect(dialog).to_be_visible()
        await page.keyboard.press("Escape")
        await expect(dialog).to_be_hidden()
        await expect(templated.get_by_role("button", name="Cancel pool")).to_be_focused()
        still = await find_pool(http, channel_id, "Template pool: boss down?")
        assert still["status"] == "open"

        # The streamer holds a position in it: resolving is refused, readably.
        streamer = await api_login(http, site.account("streamer"))
        joined = await http.post(f"/api/v1/channels/{channel_id}/join", headers=streamer)
        assert joined.status_code == 200, joined.text
        await place_bet(http, streamer, still, 1, 50)
        locked = await http.post(f"/api/v1/pools/{still['id']}/lock", headers=streamer)
        assert locked.status_code == 200, locked.text
        await expect(templated.locator(".badge")).to_have_text("Locked")
        await templated.get_by_role("button", name="Resolve…").click()
        dialog = page.get_by_role("dialog", name="Which outcome won?")
        await dialog.get_by_label("Down").check()
        await dialog.get_by_role("button", name="Resolve and pay out").click()
        await expect(dialog.get_by_role("alert")).to_have_text(
            "You hold a position in this pool, so you can't resolve it: a moderator without a"
            " bet must."
        )
        await page.keyboard.press("Escape")
        assert (await find_pool(http, channel_id, "Template pool: boss down?"))[
            "status"
        ] == "locked"


async def test_moderators_automations_and_a_new_channel(site: Site) -> None:
    page = await site.page("/dashboard")
    channel_id = await open_demo_channel(page, site)

    # A moderator found by name; they then see the channel in their own dashboard.
    await page.get_by_role("link", name="Moderators").click()
    await page.get_by_label("Find a member by name").fill("viewer2")
    await page.get_by_role("button", name="Make DemoViewer2 a moderator").click()
    mods = page.get_by_role("region", name="Moderators")
    await expect(mods.get_by_text("DemoViewer2", exact=True)).to_be_visible()
    moderator = await site.page("/dashboard")
    await sign_in(moderator, site.account("viewer2"))
    link = moderator.get_by_role("link", name="Demo boss fights")
    await expect(link).to_contain_text("Moderator")
    await link.click()
    await expect(moderator.get_by_role("heading", name="Live pools")).to_be_visible()

    # An automation created, then deleted after a confirmation (a reload keeps the page).
    await page.goto(f"/dashboard/channels/{channel_id}/automations")
    form = page.get_by_role("form", name="New automation")
    await form.get_by_label("When").select_option("stream_offline")
    await form.get_by_label("Do with the open pools").select_option("cancel")
    await form.get_by_role("button", name="Create automation").click()
    rules = page.get_by_role("region", name="Automations")
    summary = "Stream ends → cancel the open pools"
    await expect(rules.get_by_text(summary)).to_be_visible()
    await rules.get_by_role("button", name=f"Delete: {summary}").click()
    await (
        page.get_by_role("dialog", name="Delete this automation?")
        .get_by_role("button", name="Delete automation")
        .click()
    )
    await expect(rules.get_by_text("No automations yet.")).to_be_visible()

    # A bad slug is named beside its field.
    await page.get_by_role("link", name="My channels").click()
    create = page.get_by_role("region", name="Create a channel")
    await create.get_by_label("Slug").fill("Bad Slug!")
    await create.get_by_label("Name").fill("Mine")
    await create.get_by_role("button", name="Create channel").click()
    await expect(create.locator(".field-error")).to_contain_text("regex")
    await expect(create.get_by_label("Slug")).to_have_attribute("aria-invalid", "true")
