"""A named bot's messages (sent through the REST API) in Chromium: the widget shows them under
the bot's name, counts them as unread and tells the host page; the console shows them as the
bot's, on the team's side."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import Browser, expect

from chatserver.store import Store
from tests import client as cl
from tests.browser.console_support import PASSWORD, chat, log_in, watch
from tests.browser.widget_helpers import online_agent, open_panel, say, shop
from tests.servers import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

BOT = "ربات سفارش"


async def test_a_bot_writes_while_the_visitor_waits(
    browser: Browser, live_server: LiveServer
) -> None:
    live = live_server
    store = Store.from_url(live.redis_url)
    try:
        _, key = await store.issue_api_key("demo", "Orders", "write", 0, "test")
    finally:
        await store.close()

    async def bot_says(conv: str, text: str) -> None:
        body = {"bot": {"name": BOT, "id": "orders"}, "text": text}
        path = f"/api/v1/conversations/{conv}/messages"
        await asyncio.to_thread(cl.rest, live.base_url, key, "POST", path, body)

    # Sara is online but busy with someone else, so our visitor waits in the queue.
    sara = await online_agent(live, capacity=1)
    other, _ = await cl.visitor(live.ws_url)
    await other.send({"type": "message", "client_id": "o1", "text": "I was first"})
    await sara.expect("assigned")
    problems: list[str] = []
    async with shop(browser, live, problems=problems) as s:
        frame = await open_panel(s.page)
        # (A function, so that Playwright does not call the unsubscribe function it returns.)
        await s.page.evaluate(
            "() => { window.heard = []; Chatserver.on('message', (m) => heard.push(m)); }"
        )
        await say(frame, "Where is my order?")
        queued = await asyncio.to_thread(
            cl.rest, live.base_url, key, "GET", "/api/v1/conversations?status=queued"
        )
        conv_id = queued["items"][0]["id"]

        await bot_says(conv_id, "سفارش ۴۲ امروز ارسال شد")
        mine = frame.locator('[data-testid="message"][data-from="bot"]')
        await expect(mine).to_have_count(1)
        await expect(mine.locator(".who")).to_have_text(BOT)
        await expect(mine.get_by_test_id("message-text")).to_have_text("سفارش ۴۲ امروز ارسال شد")
        await s.page.wait_for_function("heard.length === 1")
        assert await s.page.evaluate("heard") == [
            {"from": "bot", "text": "سفارش ۴۲ امروز ارسال شد"}
        ]

        # With the panel closed the next one is counted as unread.
        await frame.get_by_test_id("launcher").click()
        await expect(frame.get_by_test_id("panel")).to_be_hidden()
        await bot_says(conv_id, "Tracking: 42-XYZ")
        await expect(frame.get_by_test_id("unread")).to_have_text("1")

        # An agent signs in and is routed the chat: the bot's messages are in its history.
        await asyncio.to_thread(live.add_agent, "bea@example.com", PASSWORD, "Bea")
        ctx = await browser.new_context()
        try:
            page = await ctx.new_page()
            watch(page, problems)
            await log_in(page, live.base_url, "bea@example.com")
            await chat(page, conv_id).click()
            thread = page.get_by_test_id("thread")
            bots = thread.locator('[data-from="bot"]')
            await expect(bots).to_have_count(2)
            await expect(bots.first).to_have_class("msg msg-theirs msg-bot")
            await expect(bots.first.locator(".meta")).to_contain_text(f"{BOT} · bot")
        finally:
            await ctx.close()
    assert problems == []
    for c in (sara, other):
        await c.close()
