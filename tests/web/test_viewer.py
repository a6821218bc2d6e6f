"""The viewer page, /c/<slug>, in a real browser: signing in, betting live beside another viewer,
bets that survive a cut connection and a server restart, a phone's screen, readable errors and
the keyboard alone."""

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from playwright.async_api import Locator, Page, WebSocketRoute, expect

from app.demo.service import DemoAccount
from app.kit.uow import read_session
from app.pool import schemas as pool_schemas
from app.pool.betting import pool_betting
from app.user.repository import user_repository
from tests.web.conftest import PHONE, RestartableServer, Site, screenshot

#: What a viewer sees as their points balance, and an outcome's total, as the page keeps them.
BALANCE = "[data-testid=wallet] .balance[data-currency^='points:']"


@asynccontextmanager
async def rest(site: Site, account: DemoAccount | None = None) -> AsyncIterator[httpx.AsyncClient]:
    """The API as ``account`` (or anonymous) calls it."""
    async with httpx.AsyncClient(base_url=site.url, timeout=10) as http:
        if account is not None:
            login = await http.post(
                "/api/v1/auth/login", json={"email": account.email, "password": account.password}
            )
            http.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        yield http


async def demo_pool(site: Site) -> dict[str, Any]:
    async with rest(site) as http:
        channel = (await http.get("/api/v1/channels/by-slug/demo")).json()
        pools = await http.get(f"/api/v1/channels/{channel['id']}/pools", params={"status": "open"})
        pool: dict[str, Any] = pools.json()["pools"][0]
        return pool


async def pool_total(site: Site, pool_id: int) -> int:
    """The pool's total as the server holds it now (not a copy up to an update old)."""
    async with rest(site) as http:
        pool = await http.get(f"/api/v1/pools/{pool_id}", headers={"Cache-Control": "no-cache"})
        total: int = pool.json()["total"]
        return total


async def balance_of(site: Site, account: DemoAccount, channel_id: int) -> int:
    async with rest(site, account) as http:
        member = await http.get(f"/api/v1/channels/{channel_id}/members/me")
        balance: int = member.json()["balance"]
        return balance


async def sign_in(page: Page, account: DemoAccount) -> None:
    await page.get_by_role("button", name="Sign in", exact=True).click()
    dialog = page.get_by_role("dialog")
    await dialog.get_by_label("Email").fill(account.email)
    await dialog.get_by_label("Password").fill(account.password)
    await dialog.get_by_role("button", name="Sign in", exact=True).click()
    await expect(page.locator(BALANCE)).to_be_visible()
    await expect(page.locator("[data-connection=live]")).to_be_visible()


def card(page: Page, pool_id: int) -> Locator:
    return page.locator(f"article[data-pool-id='{pool_id}']")


def outcome(page: Page, pool_id: int, outcome_id: int) -> Locator:
    return card(page, pool_id).locator(f"label[data-outcome-id='{outcome_id}']")


async def bet(page: Page, pool_id: int, outcome_id: int, amount: str) -> None:
    """Pick, type, confirm; returns once the bet's answer is shown (placed or refused)."""
    await outcome(page, pool_id, outcome_id).click()
    await card(page, pool_id).get_by_label(re.compile(r"^Amount")).fill(amount)
    await card(page, pool_id).get_by_role("button", name=re.compile(r"^Bet ")).click()


async def placed(page: Page, pool_id: int) -> None:
    await expect(card(page, pool_id).get_by_test_id("bet-result")).to_contain_text("Bet placed")


async def seen_at(page: Page, selector: str, attribute: str, value: int) -> Any:
    """The browser's clock (ms) when the element's attribute first reads ``value``."""
    handle = await page.wait_for_function(
        """([selector, attribute, value]) => {
            const element = document.querySelector(selector);
            return element && element.getAttribute(attribute) === value ? Date.now() : null;
        }""",
        arg=[selector, attribute, str(value)],
        polling=10,
        timeout=5_000,
    )
    return await handle.json_value()


async def test_two_viewers_see_each_others_stakes_live(site: Site) -> None:
    pool = await demo_pool(site)
    pool_id, channel_id = pool["id"], pool["channel_id"]
    first, second = pool["outcomes"][0]["id"], pool["outcomes"][1]["id"]
    viewer, viewer2 = site.account("viewer"), site.account("viewer2")
    one, two = await site.page("/c/demo"), await site.page("/c/demo")
    await sign_in(one, viewer)
    await sign_in(two, viewer2)
    before = await balance_of(site, viewer, channel_id)
    await expect(one.locator(BALANCE)).to_have_attribute("data-balance", str(before))

    latencies = []
    for me, other, outcome_id, amount in ((one, two, first, 120), (two, one, second, 200)):
        selector = f"article[data-pool-id='{pool_id}'] label[data-outcome-id='{outcome_id}']"
        total = int(await outcome(other, pool_id, outcome_id).get_attribute("data-total") or 0)
        # Both clocks are the browser's: one process, one clock for every page.
        other_saw = asyncio.create_task(seen_at(other, selector, "data-total", total + amount))
        await bet(me, pool_id, outcome_id, str(amount))
        acked = await me.wait_for_function(
            """(id) => {
                const result = document.querySelector(
                    `article[data-pool-id='${id}'] [data-testid=bet-result]`);
                return result && result.textContent.includes("Bet placed") ? Date.now() : null;
            }""",
            arg=pool_id,
            polling=10,
        )
        latencies.append(await other_saw - await acked.json_value())
    print(f"\nother viewer sees the stake {latencies} ms after the bettor's ack")
    assert all(latency < 1_000 for latency in latencies), latencies

    # Each sees the pot of both bets, the bars drawn to scale, and their own balance drop.
    for page in (one, two):
        await expect(card(page, pool_id)).to_have_attribute("data-total", str(pool["total"] + 320))
    fill = outcome(one, pool_id, second).locator(".fill")
    assert "scaleX(" in (await fill.get_attribute("style") or "")
    await expect(one.locator(BALANCE)).to_have_attribute("data-balance", str(before - 120))
    await expect(card(one, pool_id).get_by_test_id("position")).to_contain_text("120")
    await expect(card(one, pool_id).get_by_test_id("position")).to_contain_text("if it wins")

    # A word in chat reaches the other viewer, with its platform badge.
    await two.get_by_label("Message").fill("good luck!")
    await two.get_by_role("button", name="Send").click()
    message = one.locator(".message", has_text="good luck!")
    await expect(message).to_be_visible()
    await expect(message.locator(".platform")).to_have_text("Site")
    await one.wait_for_function("() => document.getAnimations().length === 0")  # bars drawn
    await screenshot(one, "viewer")

    # The streamer resolves it: the winner sees the result, their payout and a notice.
    async with rest(site, site.account("streamer")) as http:
        assert (await http.post(f"/api/v1/pools/{pool_id}/lock")).status_code == 200
        resolve = await http.post(f"/api/v1/pools/{pool_id}/resolve", json={"outcome_id": second})
        assert resolve.status_code == 200, resolve.text
    await expect(two.get_by_test_id("toast")).to_contain_text("you won 320 pts")
    result = card(two, pool_id).get_by_test_id("result")
    await expect(result).to_contain_text("You won 320 pts")
    await expect(outcome(two, pool_id, second)).to_have_class(re.compile(r"\bwinner\b"))
    await expect(card(one, pool_id).get_by_test_id("result")).to_contain_text("did not win")
    await expect(two.locator(BALANCE)).to_have_attribute(
        "data-balance", str(await balance_of(site, site.account("viewer2"), channel_id))
    )
    await expect(two.locator(".leaderboard tr.me")).to_contain_text("+120 pts")
    await screenshot(two, "viewer-result")


async def test_a_bet_cut_off_by_a_disconnect_is_placed_once(site: Site) -> None:
    pool = await demo_pool(site)
    pool_id, channel_id, outcome_id = pool["id"], pool["channel_id"], pool["outcomes"][2]["id"]
    viewer = site.account("viewer")
    page = await site.page("/c/demo")
    cut = {"armed": True, "bet_sent": False, "dropped_ack": False}

    async def route(ws: WebSocketRoute) -> None:
        """Pass the socket through, except: once the bet went out, swallow its answer and cut
        the connection, as a network drop would."""
        server = ws.connect_to_server()

        def from_page(message: str | bytes) -> None:
            if cut["armed"] and isinstance(message, str) and '"bet:place"' in message:
                cut["bet_sent"] = True
            server.send(message)

        def from_server(message: str | bytes) -> None:
            # The bet's acknowledgement: a Socket.IO ACK packet ("43<id>[...]").
            armed = cut["bet_sent"] and cut["armed"]
            if armed and isinstance(message, str) and message.startswith("43"):
                cut["armed"], cut["dropped_ack"] = False, True
                asyncio.get_running_loop().create_task(ws.close())
                return
            ws.send(message)

        ws.on_message(from_page)
        server.on_message(from_server)

    await page.route_web_socket(re.compile(r"/socket\.io/"), route)
    await page.reload()
    await sign_in(page, viewer)
    total, balance = await pool_total(site, pool_id), await balance_of(site, viewer, channel_id)

    await bet(page, pool_id, outcome_id, "75")
    await placed(page, pool_id)
    assert cut["dropped_ack"], "the bet's answer was never cut off"
    await expect(page.locator("[data-connection=live]")).to_be_visible()
    # Placed once: the retry after the reconnect carried the same key.
    assert await pool_total(site, pool_id) == total + 75
    assert await balance_of(site, viewer, channel_id) == balance - 75
    await expect(page.locator(BALANCE)).to_have_attribute("data-balance", str(balance - 75))
    await expect(card(page, pool_id)).to_have_attribute("data-total", str(total + 75))


async def test_the_page_comes_back_after_the_server_restarts(
    restartable_site: tuple[Site, RestartableServer],
) -> None:
    site, server = restartable_site
    pool = await demo_pool(site)
    pool_id, channel_id, outcome_id = pool["id"], pool["channel_id"], pool["outcomes"][0]["id"]
    page = await site.page("/c/demo")
    await sign_in(page, site.account("viewer"))
    before = await pool_total(site, pool_id)
    async with rest(site, site.account("streamer")) as http:
        made = await http.post(f"/api/v1/channels/{channel_id}/overlay-keys", json={"label": "OBS"})
        assert made.status_code == 201, made.text
    overlay = await site.page(made.json()["url"].removeprefix(site.url))
    await expect(overlay.locator(f"[data-pool='{pool_id}']")).to_be_visible()

    await server.stop()
    await expect(page.locator("[data-connection=reconnecting]")).to_be_visible()
    # While the page is away, the other viewer bets.
    await bet_meanwhile(site, pool_id, outcome_id, 40)
    await server.start()

    await expect(page.locator("[data-connection=live]")).to_be_visible(timeout=15_000)
    await expect(card(page, pool_id)).to_have_attribute("data-total", str(before + 40))
    await expect(outcome(page, pool_id, outcome_id)).to_have_attribute(
        "data-total", str(pool["outcomes"][0]["total"] + 40)
    )
    # The overlay on stream came back by itself too.
    await expect(overlay.locator(f"[data-pool='{pool_id}'] .pot")).to_contain_text(
        f"{before + 40} pts"
    )
    # And it still bets.
    await bet(page, pool_id, outcome_id, "10")
    await placed(page, pool_id)
    assert await pool_total(site, pool_id) == before + 50
    assert await balance_of(site, site.account("viewer"), channel_id) == 1_000 - 10


async def bet_meanwhile(site: Site, pool_id: int, outcome_id: int, amount: int) -> None:
    """A bet by the second viewer while no web process runs, through the one bet function."""
    async with read_session(site.resources) as session:
        user = await user_repository.get_by_email(session, site.account("viewer2").email)
        assert user is not None
        user_id = user.id
    await pool_betting.bet(
        site.resources,
        user_id,
        pool_id,
        pool_schemas.BetCreate(outcome_id=outcome_id, amount=amount),
        str(uuid.uuid4()),
    )


async def test_a_phone_bets_and_nothing_overflows(site: Site) -> None:
    pool = await demo_pool(site)
    pool_id, outcome_id = pool["id"], pool["outcomes"][1]["id"]
    page = await site.page("/c/demo", viewport=PHONE)
    await sign_in(page, site.account("viewer2"))
    await outcome(page, pool_id, outcome_id).click()
    # The amount is prefilled; a quick chip sets another.
    await card(page, pool_id).get_by_role("button", name="Stake 10 pts").click()
    await expect(card(page, pool_id).get_by_label(re.compile(r"^Amount"))).to_have_value("10")
    await card(page, pool_id).get_by_role("button", name="Bet 10 pts on Two or three").click()
    await placed(page, pool_id)
    await expect(page.locator(BALANCE)).to_have_attribute("data-balance", "990")
    await expect(card(page, pool_id)).to_have_attribute("data-total", "10")
    overflow = await page.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth]"
    )
    assert overflow[0] <= overflow[1], overflow
    await page.wait_for_function("() => document.getAnimations().length === 0")  # bars drawn
    await screenshot(page, "viewer-phone")

    # The next bet starts from the amount used last (remembered for the channel).
    await page.reload()
    await expect(card(page, pool_id).get_by_label(re.compile(r"^Amount"))).to_have_value("10")


async def test_refused_bets_read_as_sentences(site: Site) -> None:
    pool = await demo_pool(site)
    pool_id, channel_id, outcome_id = pool["id"], pool["channel_id"], pool["outcomes"][0]["id"]
    # A second pool with a high limit, so that a stake can be within it and beyond the balance.
    async with rest(site, site.account("streamer")) as http:
        created = await http.post(
            "/api/v1/pools",
            json={
                "channel_id": channel_id,
                "title": "Speedrun under an hour?",
                "outcomes": ["Yes", "No"],
                "max_stake": 1_000_000,
                "window_seconds": 3600,
            },
        )
        assert created.status_code == 201, created.text
    big = created.json()
    page = await site.page("/c/demo")
    # Signed out, a bet asks for a sign-in first.
    await bet(page, pool_id, outcome_id, "5")
    await expect(page.get_by_role("dialog")).to_contain_text("Sign in to place your bet.")
    await page.get_by_role("dialog").get_by_role("button", name="Cancel").click()
    await expect(page.get_by_role("dialog")).to_be_hidden()
    await sign_in(page, site.account("viewer"))

    await bet(page, pool_id, outcome_id, "600")
    error = card(page, pool_id).get_by_test_id("bet-error")
    await expect(error).to_have_text(
        "That amount is outside this pool's limits. Stake 1 pts to 500 pts."
    )
    await bet(page, big["id"], big["outcomes"][0]["id"], "5000")
    error = card(page, big["id"]).get_by_test_id("bet-error")
    await expect(error).to_have_text("You don't have enough for that bet.")
    await expect(error).to_have_attribute("role", "alert")
    await bet(page, big["id"], big["outcomes"][0]["id"], "lots")
    await expect(error).to_have_text("Enter a whole number of points.")
    assert await balance_of(site, site.account("viewer"), channel_id) == 1_000


async def test_sign_in_and_bet_with_the_keyboard_alone(site: Site) -> None:
    pool = await demo_pool(site)
    pool_id = pool["id"]
    viewer = site.account("viewer2")
    page = await site.page("/c/demo")
    await expect(page.locator("[data-connection=live]")).to_be_visible()

    async def tab_to(locator: Locator, most: int = 40) -> None:
        for _ in range(most):
            if await locator.evaluate("(element) => element === document.activeElement"):
                return
            await page.keyboard.press("Tab")
        raise AssertionError(f"Tab never reached {locator}")

    await tab_to(page.get_by_role("button", name="Sign in", exact=True))
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("dialog").get_by_label("Email")).to_be_focused()
    await page.keyboard.type(viewer.email)
    await page.keyboard.press("Tab")
    await page.keyboard.type(viewer.password)
    await page.keyboard.press("Enter")
    await expect(page.locator(BALANCE)).to_have_attribute("data-balance", "1000")

    # Tab into the outcomes, arrow to the second one, Enter bets the prefilled amount.
    await tab_to(outcome(page, pool_id, pool["outcomes"][0]["id"]).locator("input"))
    await page.keyboard.press("ArrowDown")
    await expect(outcome(page, pool_id, pool["outcomes"][1]["id"]).locator("input")).to_be_checked()
    await page.keyboard.press("Enter")
    await placed(page, pool_id)
    await expect(card(page, pool_id).get_by_test_id("bet-result")).to_contain_text(
        "100 pts on Two or three"
    )
    await expect(page.locator(BALANCE)).to_have_attribute("data-balance", "900")


async def test_the_channel_owner_moderates_the_chat(site: Site) -> None:
    viewer = await site.page("/c/demo")
    await sign_in(viewer, site.account("viewer"))
    # Viewers get no moderation buttons.
    await viewer.get_by_label("Message", exact=True).fill("buy cheap gold at spam.example")
    await viewer.get_by_label("Message", exact=True).press("Enter")
    spam = viewer.locator(".message", has_text="cheap gold")
    await expect(spam).to_be_visible()
    await expect(viewer.get_by_role("button", name=re.compile("^Delete"))).to_have_count(0)

    owner = await site.page("/c/demo")
    await sign_in(owner, site.account("streamer"))
    await owner.get_by_role("button", name="Delete the message from DemoViewer").click()
    await expect(spam).to_have_count(0)
    await expect(owner.locator(".message", has_text="cheap gold")).to_have_count(0)
    await viewer.get_by_label("Message", exact=True).fill("again")
    await viewer.get_by_label("Message", exact=True).press("Enter")
    await owner.locator(".message", has_text="again").wait_for()
    await owner.get_by_role("button", name="Time DemoViewer out for 10 minutes").click()
    await expect(owner.get_by_text("DemoViewer can't chat for 10 minutes.")).to_be_visible()
    await viewer.get_by_label("Message", exact=True).fill("am I muted?")
    await viewer.get_by_label("Message", exact=True).press("Enter")
    await expect(viewer.locator(".chat [role=alert]")).to_have_text(
        re.compile(r"^A moderator timed you out of this chat until \d\d?:\d\d( [AP]M)?\.$")
    )


async def test_a_new_viewer_signs_up_joins_and_claims_the_daily_bonus(site: Site) -> None:
    page = await site.page("/c/demo", viewport=PHONE)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    dialog = page.get_by_role("dialog")
    await dialog.get_by_role("button", name="Create an account").click()
    await dialog.get_by_label("Email").fill(f"new-{uuid.uuid4().hex[:8]}@example.com")
    await dialog.get_by_label("Display name").fill("Newcomer")
    await dialog.get_by_label("Password").fill("short")
    await screenshot(page, "viewer-sign-up")
    await dialog.get_by_label("Password").fill("a long enough password")
    await dialog.get_by_role("button", name="Create an account").click()
    await expect(dialog).to_be_hidden()

    await expect(page.locator(BALANCE)).to_have_attribute("data-balance", "0")
    await page.get_by_role("button", name="Join channel").click()
    await expect(page.get_by_text("Welcome! You have 1,000 pts.")).to_be_visible()
    await expect(page.locator(BALANCE)).to_have_attribute("data-balance", "1000")
    await page.get_by_role("button", name="Claim daily bonus").click()
    await expect(page.locator(BALANCE)).to_have_attribute("data-balance", "1100")
    await expect(
        page.get_by_role("button", name=re.compile("^Next daily bonus in"))
    ).to_be_disabled()


async def test_an_unknown_channel_says_so(site: Site) -> None:
    page = await site.page("/c/no-such-channel")
    await expect(page.get_by_role("heading", name="No such channel")).to_be_visible()
