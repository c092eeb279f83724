"""Two of issue 20's console findings: addresses in messages are links and nothing else is
(http(s) and www. only, the sentence's punctuation left out, a new tab without a referrer;
markup and javascript: stay text), and the agent sees which of their messages the visitor
has read."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.async_api import Browser, expect

from chatserver.store import Store
from tests.browser.console_support import (
    add_agent,
    chat,
    console_server,
    log_in,
    visitor_writes,
    watch,
)
from tests.servers import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

TEXT = (
    "سفارشم را در https://shop.example.com/orders/42?x=1. دیدم، "
    "و www.example.org هم؛ javascript:alert(1) <b>bold</b>"
)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with console_server(tmp_path_factory.mktemp("links")) as server:
        yield server


async def test_addresses_in_messages_are_links(browser: Browser, live: LiveServer) -> None:
    await add_agent(live, "links@example.com", "Sara", "links")
    problems: list[str] = []
    ctx = await browser.new_context()
    page = await ctx.new_page()
    watch(page, problems)
    try:
        await log_in(page, live.base_url, "links@example.com")
        v, conv = await visitor_writes(live, "links", TEXT)
        await expect(chat(page, conv)).to_be_visible()
        bubble = page.get_by_test_id("thread").get_by_test_id("message-text").first
        await expect(bubble).to_contain_text("shop.example.com")
        links = bubble.locator("a")
        await expect(links).to_have_count(2)
        first, second = links.nth(0), links.nth(1)
        await expect(first).to_have_attribute("href", "https://shop.example.com/orders/42?x=1")
        await expect(first).to_have_text("https://shop.example.com/orders/42?x=1")
        await expect(first).to_have_attribute("target", "_blank")
        await expect(first).to_have_attribute("rel", "noopener noreferrer nofollow")
        await expect(second).to_have_attribute("href", "https://www.example.org")
        # Everything else is the text as written: no markup, no script address.
        assert await bubble.locator("b").count() == 0
        assert "<b>bold</b>" in await bubble.inner_text()
        assert "javascript:alert(1)" in await bubble.inner_text()
        assert problems == []
        await v.close()
    finally:
        await ctx.close()


async def test_the_visitors_read_receipts_show_on_the_agents_messages(
    browser: Browser, live: LiveServer
) -> None:
    """Issue 20's "no read receipts": the visitor's `read` frame turns the agent's own
    messages up to it from "sent" to "seen", and the tab keeps that across a reload."""
    await add_agent(live, "seen@example.com", "Sara", "seen")
    problems: list[str] = []
    ctx = await browser.new_context()
    page = await ctx.new_page()
    watch(page, problems)
    try:
        await log_in(page, live.base_url, "seen@example.com")
        v, conv = await visitor_writes(live, "seen", "سلام")
        await chat(page, conv).click()
        composer = page.get_by_test_id("composer")
        for text in ("First answer", "Second answer"):
            await composer.fill(text)
            await composer.press("Enter")
        replies = [
            await v.expect("message", lambda f, t=t: f.get("text") == t)
            for t in ("First answer", "Second answer")
        ]
        mine = page.get_by_test_id("thread").get_by_test_id("message-state")
        await expect(mine).to_have_text(["sent", "sent"])
        # The visitor reads the first: only it is seen.
        await v.send({"type": "read", "conversation_id": conv, "id": replies[0]["id"]})
        await expect(mine).to_have_text(["seen", "sent"])
        await v.send({"type": "read", "conversation_id": conv, "id": replies[1]["id"]})
        await expect(mine).to_have_text(["seen", "seen"])
        await page.reload()
        await chat(page, conv).click()
        await expect(page.get_by_test_id("thread").get_by_test_id("message-state")).to_have_text(
            ["seen", "seen"]
        )
        assert problems == []
        await v.close()
    finally:
        await ctx.close()


async def test_canned_placeholders_take_the_names(browser: Browser, live: LiveServer) -> None:
    """Issue 20's `{name}` reaching the visitor literally: {name} is the visitor's name (and
    goes with its space when they gave none), {agent} the agent's."""
    await add_agent(live, "names@example.com", "سارا", "names")
    store = Store.from_url(live.redis_url)
    try:
        await store.save_canned("names", "hi", "سلام {name}، من {agent} هستم.")
    finally:
        await store.close()
    ctx = await browser.new_context()
    page = await ctx.new_page()
    try:
        await log_in(page, live.base_url, "names@example.com")
        for visitor_name, expected in (
            ("علی", "سلام علی، من سارا هستم."),
            ("", "سلام، من سارا هستم."),
        ):
            hello = {"name": visitor_name} if visitor_name else {}
            v, conv = await visitor_writes(live, "names", "?", **hello)
            await chat(page, conv).click()
            composer = page.get_by_test_id("composer")
            await composer.press_sequentially("/hi")
            await expect(page.get_by_test_id("canned-option")).to_have_count(1)
            await composer.press("Enter")
            await expect(composer).to_have_value(expected)
            await composer.press("Enter")
            reply = await v.expect("message", lambda f: f["from"] == "agent")
            assert reply["text"] == expected
            await v.close()
    finally:
        await ctx.close()
