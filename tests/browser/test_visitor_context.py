"""Visitor context in a Persian console, in real Chromium: the widget on a customer's page,
the agent sees the visitor online now on their first visit, the visitor moves to a second
page (a single-page app's navigation) and the panel lists it live, newest first, as safe
links; the visitor closes the tab and the panel says when they left, in Persian digits and
without a Latin letter beyond what the visitor's pages are called."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.async_api import Browser, expect

from tests.browser.console_support import add_agent, console_server
from tests.browser.test_chat_e2e import watch
from tests.browser.test_console_persian import FA, latin_words, log_in_fa, visible_text
from tests.browser.widget_helpers import open_panel, say, shop
from tests.servers import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with console_server(tmp_path_factory.mktemp("visits")) as server:
        yield server


async def test_the_agent_follows_the_visitor_live(browser: Browser, live: LiveServer) -> None:
    await add_agent(live, "sara.v@example.com", "سارا", "demo", capacity=3)
    problems: list[str] = []
    console_ctx = await browser.new_context(**FA)  # type: ignore[arg-type]
    console = await console_ctx.new_page()
    watch(console, problems)
    try:
        await log_in_fa(console, live.base_url, "sara.v@example.com")
        async with shop(browser, live, page={"path": "/shoes"}, problems=problems) as s:
            frame = await open_panel(s.page)
            await say(frame, "سلام، این کفش سایز ۴۲ دارد؟")
            item = console.get_by_test_id("conversation")
            await expect(item).to_have_count(1)
            await item.click()
            details = console.get_by_test_id("visitor-details")
            presence = details.get_by_test_id("visitor-presence")
            await expect(presence).to_have_text("هم‌اکنون در سایت است")
            await expect(details).to_contain_text("نخستین بار است که می‌آید")
            pages = details.get_by_test_id("visit-page")
            await expect(pages).to_have_count(1)
            await expect(details).to_contain_text("۱ صفحه در این بازدید")

            # A single-page app moves on: the loader tells the server, the panel follows.
            await s.page.evaluate(
                "document.title = 'سبد خرید'; history.pushState({}, '', '/cart?step=1')"
            )
            await expect(pages).to_have_count(2)
            await expect(details).to_contain_text("۲ صفحه در این بازدید")
            newest = pages.first.get_by_role("link")
            await expect(newest).to_have_text("سبد خرید")
            assert await newest.get_attribute("href") == f"{s.host.origin}/cart?step=1"
            assert await newest.get_attribute("target") == "_blank"
            rel = (await newest.get_attribute("rel") or "").split()
            assert {"noopener", "noreferrer"} <= set(rel)
            assert await newest.get_attribute("dir") == "auto"
            assert await pages.last.get_by_role("link").get_attribute("href") == s.url
            assert await console.get_attribute("html", "dir") == "rtl"
            assert latin_words(await visible_text(console)) == []

            # The visitor closes the tab: gone, and since when (Persian digits).
            await s.page.close()
            await expect(presence).to_have_text(re.compile(r"^[۰-۹]+ ثانیه پیش از سایت رفت$"))
            await expect(pages).to_have_count(2)
            assert latin_words(await visible_text(console)) == []
        assert problems == []
        assert [line for node in live.nodes for line in node.crashes()] == []
    finally:
        await console_ctx.close()
