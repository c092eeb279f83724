"""The widget's screenshots and weight for the README (called by docs/screenshots.py).

Two sites of their own: an English store and a Persian bookshop (right to left), each with an
agent on the protocol client. The widget runs on customer pages of another origin, as it
would on a real site: desktop and a 360 px phone, left to right and right to left.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Frame, Page, expect

from chatserver.store import Store
from tests import client as cl
from tests.browser.widget_helpers import HostPages, open_panel, say, widget_bytes
from tests.servers import LiveServer

SITES = {
    "store": {"name": "Northwind Store", "color": "#0f766e", "locale": "en"},
    "bazaar": {
        "name": "کتاب‌فروشی نیلوفر",
        "color": "#7c3aed",
        "locale": "fa",
        "greeting": "سلام! دنبال چه کتابی هستید؟",
    },
}
SHOP_CSS = """<style>
body { margin: 0; font: 17px/1.6 Georgia, serif; color: #27303f; background: #f6f3ee; }
header { padding: 18px 40px; background: #fff; border-bottom: 1px solid #e6e0d6;
         font: 700 20px system-ui, sans-serif; }
main { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 24px;
       padding: 32px 40px; }
article { height: 220px; border-radius: 10px; background: #fff; padding: 16px;
          box-shadow: 0 1px 3px #0001; }
article::before { content: ""; display: block; height: 120px; margin-bottom: 12px;
                  border-radius: 6px; background: #e9e4da; }
</style>"""


def shop_body(title: str, items: list[str]) -> str:
    cards = "".join(f"<article>{item}</article>" for item in items)
    return f"<header>{title}</header><main>{cards}</main>"


async def _agent(live: LiveServer, site: str, email: str, name: str) -> cl.Client:
    await asyncio.to_thread(live.add_agent, email, "password123", name, 1, "agent", site)
    token = await asyncio.to_thread(live.login, email)
    agent, _ = await cl.agent(live.ws_url, token)
    return agent


async def _reply(agent: cl.Client, conv_id: str, text: str) -> None:
    await agent.send(
        {"type": "message", "conversation_id": conv_id, "client_id": cl.client_id(), "text": text}
    )
    await agent.expect("ack")


async def _chat(page: Page, agent: cl.Client, first: str, sent: str) -> tuple[Frame, str]:
    frame = await open_panel(page)
    await say(frame, first, sent)
    assigned = await agent.expect("assigned")
    await agent.expect("synced")
    return frame, assigned["conversation_id"]


async def _shot(page: Page, path: Path) -> None:
    # Let the panel's transitions and its smooth scroll to the newest message finish.
    await page.wait_for_timeout(600)
    await page.screenshot(path=str(path))


async def widget_screens(live: LiveServer, browser: Browser, out: Path) -> dict[str, int]:
    """Write docs/img/widget-*.png; returns the bytes loaded before the panel opens."""
    store = Store.from_url(live.redis_url)
    try:
        for site, fields in SITES.items():
            await store.ensure_site(site)
            await store.update_site(site, fields)
    finally:
        await store.close()
    sara = await _agent(live, "store", "sara@store.example", "Sara")
    maryam = await _agent(live, "bazaar", "maryam@bazaar.example", "مریم")
    host = HostPages()
    english = host.page(
        live.base_url,
        "/store",
        attrs='data-site="store"',
        head=SHOP_CSS,
        body=shop_body("Northwind Store", ["Linen shirt", "Wool scarf", "Canvas bag", "Boots"]),
    )
    persian = host.page(
        live.base_url,
        "/bazaar",
        attrs='data-site="bazaar"',
        lang="fa",
        head=SHOP_CSS + "<style>body { direction: rtl; font-family: Tahoma, sans-serif; }</style>",
        body=shop_body("کتاب‌فروشی نیلوفر", ["بوف کور", "کلیدر", "سمفونی مردگان", "شازده کوچولو"]),
    )
    desktop: dict[str, Any] = {"viewport": {"width": 1280, "height": 800}}
    phone: dict[str, Any] = {
        "viewport": {"width": 360, "height": 740},
        "is_mobile": True,
        "has_touch": True,
    }
    contexts = []

    async def visit(url: str, locale: str, device: dict[str, Any]) -> Page:
        ctx = await browser.new_context(locale=locale, **device)
        contexts.append(ctx)
        page = await ctx.new_page()
        await page.goto(url)
        return page

    try:
        # Desktop, left to right: a live conversation, the agent typing.
        page = await visit(english, "en-US", desktop)
        frame, conv = await _chat(page, sara, "Hi! Do you ship to Tabriz?", "sent")
        await _reply(
            sara, conv, "Yes! Orders reach Tabriz in two days: https://example.com/shipping"
        )
        await say(frame, "Great, I'll order the linen shirt then.")
        mine = await sara.expect(
            "message", lambda f: f["from"] == "visitor" and "linen" in f["text"]
        )
        await sara.send({"type": "read", "conversation_id": conv, "id": mine["id"]})
        await sara.send({"type": "typing", "conversation_id": conv, "state": True})
        await expect(frame.get_by_test_id("typing")).to_be_visible()
        await _shot(page, out / "widget-desktop.png")

        # Phone, left to right: the chat has been resolved; the visitor rates it.
        await sara.send({"type": "resolve", "conversation_id": conv})
        page = await visit(english, "en-US", phone)
        frame, conv = await _chat(page, sara, "Can I return boots bought online?", "sent")
        await _reply(sara, conv, "Of course, within 30 days, in any of our shops.")
        await sara.send({"type": "resolve", "conversation_id": conv})
        await frame.get_by_test_id("rating").get_by_title("5 of 5").click()
        await frame.get_by_test_id("rating").get_by_role("textbox").fill("Quick and clear")
        await _shot(page, out / "widget-phone.png")

        # Desktop, right to left: a Persian chat; Maryam holds her one slot with it.
        page = await visit(persian, "fa-IR", desktop)
        frame, conv = await _chat(page, maryam, "سلام، «کلیدر» را دارید؟", "ارسال شد")
        await _reply(maryam, conv, "سلام! بله، هر ده جلد موجود است. ارسال رایگان به تهران.")
        await say(frame, "عالی، ممنون. ISBN 978-964-6194-70-4 را می‌خواهم.", "ارسال شد")
        await _shot(page, out / "widget-rtl-desktop.png")

        # Phone, right to left: a second visitor waits in the queue (Persian digits).
        page = await visit(persian, "fa-IR", phone)
        frame = await open_panel(page)
        await say(frame, "سلام، سفارش ۴۵۲۱ من کجاست؟", "ارسال شد")
        await expect(frame.get_by_test_id("queue-position")).to_be_visible()
        await _shot(page, out / "widget-rtl-phone.png")

        ctx = await browser.new_context()
        contexts.append(ctx)
        return await widget_bytes(await ctx.new_page(), english, live.base_url)
    finally:
        for ctx in contexts:
            await ctx.close()
        host.close()
        await sara.close()
        await maryam.close()
