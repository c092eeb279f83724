"""The agent console's screenshots for the README (called by docs/screenshots.py).

A real scene on its own site (Lena, an admin, serves Sales, Reza Billing): three chats at once
(one waiting past the response target), one visitor in the queue, a visitor's earlier
conversation, a private note, the canned picker, the transfer dialog, Lena watching one of
Reza's chats with the whisper composer open, and the site's admin page.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from playwright.async_api import Browser, Page

from chatserver.store import Store
from tests import client as cl
from tests.servers import LiveServer

SITE = "shop"


async def _seed(live: LiveServer) -> None:
    store = Store.from_url(live.redis_url)
    try:
        await store.update_site(
            SITE,
            {
                "name": "Shop",
                "departments": "Sales,Billing",
                "sla_next_response_s": "20",
                "reopen_window_s": "0",
            },
        )
        await store.save_canned(SITE, "thanks", "Thank you for waiting, I am looking into it now.")
        await store.save_canned(SITE, "refund", "Refunds reach your card within 3-5 working days.")
        await store.save_canned(SITE, "hours", "We answer every day from 09:00 to 18:00.")
    finally:
        await store.close()


async def _say(v: cl.Client, text: str) -> None:
    await v.send({"type": "message", "client_id": cl.client_id(), "text": text})
    await v.expect("ack")


async def console_screens(live: LiveServer, browser: Browser, out: Path) -> None:
    await asyncio.to_thread(
        live.add_agent, "lena@example.com", "password123", "Lena", capacity=3, site=SITE,
        role="admin", departments="Sales",
    )  # fmt: skip
    await asyncio.to_thread(
        live.add_agent, "reza@example.com", "password123", "Reza", capacity=4, site=SITE,
        departments="Billing",
    )  # fmt: skip
    await _seed(live)
    reza, _ = await cl.agent(live.ws_url, await asyncio.to_thread(live.login, "reza@example.com"))
    ctx = await browser.new_context(viewport={"width": 1360, "height": 780})
    page = await ctx.new_page()
    await page.goto(f"{live.base_url}/login")
    await page.get_by_label("Email").fill("lena@example.com")
    await page.get_by_label("Password").fill("password123")
    await page.get_by_role("button", name="Sign in").click()
    # An admin starts Away (she comes to watch); Lena takes chats too.
    await page.get_by_test_id("agent-status").get_by_text("Away").wait_for()
    await page.get_by_test_id("agent-status").click()
    await page.get_by_test_id("agent-status").get_by_text("Online").wait_for()
    tehran = {"url": "https://shop.example.com/cart", "title": "Your cart"}
    ali, _ = await cl.visitor(
        live.ws_url, site=SITE, department="Sales", name="علی رضایی", email="ali@example.com",
        locale="fa-IR", timezone="Asia/Tehran", page={**tehran, "referrer": "https://www.google.com/"},
    )  # fmt: skip
    await _say(ali, "سلام، قبلاً هم پیام داده بودم")
    await page.get_by_test_id("conversation").first.wait_for()
    await page.get_by_test_id("composer").fill("سلام علی! خوش آمدید.")
    await page.get_by_test_id("composer").press("Enter")
    await page.get_by_test_id("resolve").click()
    await page.get_by_test_id("resolve").get_by_text("Close").wait_for()
    await page.get_by_test_id("resolve").click()

    await _say(ali, "سلام، سفارشم کجاست؟ شماره سفارش ۴۵۲۱ است")
    jonas, _ = await cl.visitor(
        live.ws_url,
        site=SITE,
        department="Sales",
        name="Jonas",
        page={"url": "https://shop.example.com/returns"},
    )
    await _say(jonas, "I sent the shoes back two weeks ago")
    await _say(jonas, "Has the refund been processed?")
    emma, _ = await cl.visitor(live.ws_url, site=SITE, department="Sales", name="Emma Clarke")
    await _say(emma, "Can I still change the delivery address?")
    await page.get_by_test_id("conversation").nth(2).wait_for()
    queued, _ = await cl.visitor(
        live.ws_url,
        site=SITE,
        department="Sales",
        name="Noah",
        page={"url": "https://shop.example.com/p/trail-42"},
    )
    await _say(queued, "Do you have the Trail 42 in size 45?")
    await page.get_by_test_id("queue-item").wait_for()

    ali_chat = page.get_by_test_id("conversation").filter(has_text="علی")
    await ali_chat.click()
    await page.get_by_test_id("mode-note").click()
    await page.get_by_test_id("composer").fill(
        "Second contact this week; courier lost the first parcel."
    )
    await page.get_by_test_id("composer").press("Enter")
    await page.get_by_test_id("mode-reply").click()
    await page.get_by_test_id("composer").fill("سفارش شما امروز صبح ارسال شد. It ships today.")
    await page.get_by_test_id("composer").press("Enter")
    await _say(ali, "ممنون! کی می‌رسد؟")
    await page.get_by_test_id("history-item").first.click()
    await page.get_by_test_id("history-item").first.locator(".history-line").first.wait_for()
    await emma.send({"type": "typing", "state": True, "preview": "I moved to"})
    # Jonas waits past the site's 20 s response target: highlighted.
    await page.locator(".conv.late").first.wait_for(timeout=30_000)
    await page.screenshot(path=str(out / "console-workspace.png"))

    await page.get_by_test_id("composer").press_sequentially("/")
    await page.get_by_test_id("canned-option").first.wait_for()
    await page.screenshot(path=str(out / "console-canned.png"))
    await page.keyboard.press("Escape")
    await page.get_by_test_id("composer").fill("")

    await page.get_by_test_id("transfer").click()
    await page.get_by_test_id("transfer-agent").first.wait_for()
    await page.get_by_test_id("transfer-note").fill(
        "Asked twice about order 4521; please check with the courier."
    )
    await page.screenshot(path=str(out / "console-transfer.png"))
    await page.get_by_test_id("transfer-cancel").click()

    sofia = await _supervise(live, reza, page, out)

    await page.goto(f"{live.base_url}/admin/sites/{SITE}")
    await page.get_by_test_id("site-form").wait_for()
    await page.screenshot(path=str(out / "console-admin-site.png"), full_page=True)
    for c in (reza, ali, jonas, emma, queued, sofia):
        await c.close()
    await ctx.close()


async def _supervise(live: LiveServer, reza: cl.Client, page: Page, out: Path) -> cl.Client:
    """Reza (Billing) answers Sofia; Lena watches the chat, as from the dashboard's link,
    whispers to him and starts a second whisper: docs/img/console-supervise.png."""
    sofia, _ = await cl.visitor(
        live.ws_url, site=SITE, department="Billing", name="Sofia Rossi",
        page={"url": "https://shop.example.com/account/invoices", "title": "Invoices"},
    )  # fmt: skip
    await _say(sofia, "I was charged twice for order 4610")
    conv = (await sofia.expect("assigned"))["conversation_id"]
    await reza.expect("assigned", lambda f: f["conversation_id"] == conv)
    await reza.send(
        {
            "type": "message",
            "conversation_id": conv,
            "client_id": cl.client_id(),
            "text": "Sorry about that! Let me look at your invoices.",
        }
    )
    await reza.expect("ack")
    await _say(sofia, "Both are from yesterday, 49.90 each. Can you refund one?")
    await page.goto(f"{live.base_url}/agent#watch={conv}")
    await page.get_by_test_id("watch-holder").get_by_text("Reza has this chat").wait_for()
    await page.get_by_test_id("watch-whisper").click()
    composer = page.get_by_test_id("composer")
    await composer.fill("The second one is only a card pre-authorisation: it drops off in 3 days.")
    await composer.press("Enter")
    await (
        page.get_by_test_id("whisper")
        .get_by_test_id("message-state")
        .get_by_text("sent")
        .wait_for()
    )
    await composer.fill("Offer her the 10% voucher for the trouble")
    await sofia.send({"type": "typing", "state": True, "preview": "Thank you, and"})
    await page.get_by_test_id("typing").get_by_text("Thank you").wait_for()
    await asyncio.sleep(0.3)
    await page.screenshot(path=str(out / "console-supervise.png"))
    await composer.fill("")
    return sofia
