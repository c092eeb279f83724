"""Issue 20's search in a Persian console (fa-IR): the agent types on an Arabic keyboard
(ك, ي) with Persian digits, finds the chat whose visitor wrote Persian letters and ASCII
digits, sees the match marked in the snippet, and opens the conversation from the result."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.browser.console_support import add_agent, console_server, visitor_says, visitor_writes
from tests.browser.test_chat_e2e import watch
from tests.browser.test_console_persian import FA, latin_words, log_in_fa, visible_text
from tests.servers import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]
IMG = Path(__file__).resolve().parents[2] / "docs" / "img"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with console_server(tmp_path_factory.mktemp("search")) as server:
        yield server


async def test_search_with_an_arabic_keyboard_and_persian_digits(
    browser: Browser, live: LiveServer
) -> None:
    await add_agent(live, "mina.fa@example.com", "مینا", "fas", capacity=3)
    problems: list[str] = []
    ctx = await browser.new_context(**FA)  # type: ignore[arg-type]
    page = await ctx.new_page()
    watch(page, problems)
    v = other = None
    try:
        await log_in_fa(page, live.base_url, "mina.fa@example.com")
        # Away: the chats wait in the queue (searchable all the same).
        await page.get_by_test_id("agent-status").click()
        await expect(page.get_by_test_id("agent-status")).to_have_text("دور از میز")
        v, conv = await visitor_writes(
            live, "fas", "سلام، سفارش 12345 من یک مشکل دارد", name="علی رضایی"
        )
        await visitor_says(v, "لطفاً پیگیری کنید")
        other, _ = await visitor_writes(live, "fas", "سوال دیگری دارم", name="سارا")
        box = page.get_by_test_id("search-input")
        await expect(box).to_have_attribute("placeholder", "جستجو در گفتگوها")
        # Arabic keyboard: ك for ک; Persian digits for 12345.
        await box.press_sequentially("مشكل ۱۲۳۴۵")
        result = page.get_by_test_id("search-result")
        await expect(result).to_have_count(1)
        await expect(result.locator(".search-title")).to_have_text("علی رضایی")
        marks = result.locator("mark")
        await expect(marks).to_have_text(["12345", "مشکل"])
        await expect(page.get_by_test_id("search-note")).to_have_text("۱ گفتگو")
        assert latin_words(await visible_text(page)) == []
        assert await page.get_attribute("html", "dir") == "rtl"
        await page.screenshot(path=str(IMG / "console-search-fa.png"))
        # The result opens the conversation's transcript, as the visitor's history does.
        await result.locator("summary").click()
        lines = result.get_by_test_id("search-line")
        await expect(lines).to_have_count(2)
        await expect(lines.nth(1)).to_contain_text("لطفاً پیگیری کنید")
        assert await result.get_attribute("data-conversation") == conv
        # A word nobody wrote finds nothing, in Persian.
        await box.fill("ناموجود")
        await expect(page.get_by_test_id("search-note")).to_have_text("گفتگویی پیدا نشد.")
        await expect(result).to_have_count(0)
        assert problems == []
    finally:
        await ctx.close()
        for client in (v, other):
            if client is not None:
                await client.close()
