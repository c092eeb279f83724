"""Issue 20's composer tools and exports in a Persian (fa-IR) browser: an emoji picked with the
keyboard in the console's composer and in the widget's; a paste of 4,001 characters refused
in Persian with the text kept and the send button off until it fits; the dashboard's CSV
downloads (a report per day, and the conversations with a Persian name intact)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.console_support import add_agent, chat, console_server, visitor_writes, watch
from tests.browser.test_console_persian import latin_words, log_in_fa, visible_text
from tests.browser.widget_helpers import online_agent, open_panel, shop
from tests.servers import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

FA = {"locale": "fa-IR", "timezone_id": "Asia/Tehran", "viewport": {"width": 1280, "height": 800}}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with console_server(tmp_path_factory.mktemp("tools")) as server:
        yield server


async def paste(page: Page, selector: str, text: str) -> None:
    """Paste ``text`` into the focused field as the browser does for Ctrl+V (a paste event,
    then the text inserted), without touching the machine's clipboard."""
    await page.focus(selector)
    await page.evaluate(
        """(text) => {
          const data = new DataTransfer();
          data.setData("text/plain", text);
          const init = { clipboardData: data, bubbles: true, cancelable: true };
          const event = new ClipboardEvent("paste", init);
          const field = document.activeElement;
          if (field.dispatchEvent(event)) document.execCommand("insertText", false, text);
        }""",
        text,
    )


async def test_emoji_and_a_long_paste_in_the_persian_console(
    browser: Browser, live: LiveServer
) -> None:
    await add_agent(live, "nika.tools@example.com", "نیکا", "tools", capacity=3)
    problems: list[str] = []
    ctx = await browser.new_context(**FA)  # type: ignore[arg-type]
    page = await ctx.new_page()
    watch(page, problems)
    try:
        await log_in_fa(page, live.base_url, "nika.tools@example.com")
        v, conv = await visitor_writes(live, "tools", "سلام", name="مینا")
        await chat(page, conv).click()
        composer = page.get_by_test_id("composer")
        await composer.fill("سلام ")

        # The picker: labelled in Persian, opened by its button, walked with the arrows
        # (left is "next" in a right-to-left grid), Enter inserts at the caret.
        button = page.get_by_test_id("emoji-button")
        assert await button.get_attribute("aria-label") == "افزودن شکلک"
        await button.click()
        grid = page.get_by_test_id("emoji-grid")
        await expect(grid).to_be_visible()
        assert await grid.get_attribute("aria-label") == "افزودن شکلک"
        await page.keyboard.press("ArrowLeft")
        await page.keyboard.press("Enter")
        await expect(grid).to_be_hidden()
        await expect(composer).to_have_value("سلام 😊")
        await expect(composer).to_be_focused()
        await button.click()
        await page.keyboard.press("Escape")
        await expect(grid).to_be_hidden()
        await expect(button).to_be_focused()
        await composer.press("Enter")
        reply = await v.expect("message", lambda f: f["from"] == "agent")
        assert reply["text"] == "سلام 😊"

        # A paste over the limit: kept whole, refused in Persian, not sendable.
        long_text = "ب" * 4001
        await paste(page, "#composer", long_text)
        await expect(composer).to_have_value(long_text)
        note = page.get_by_test_id("too-long")
        await expect(note).to_be_visible()
        await expect(note).to_have_text(re.compile("^۱ نویسه بیش از سقف ۴٬۰۰۰ نویسه"))
        await expect(page.get_by_test_id("send")).to_be_disabled()
        assert latin_words(await note.inner_text()) == []
        await composer.press("Enter")
        await expect(composer).to_have_value(long_text)  # not sent, not cut
        await composer.press("End")
        await composer.press("Backspace")
        await expect(note).to_be_hidden()
        await expect(page.get_by_test_id("send")).to_be_enabled()
        await v.close()
        assert problems == []
    finally:
        await ctx.close()


async def test_emoji_in_the_persian_widget(browser: Browser, live: LiveServer) -> None:
    problems: list[str] = []
    agent = await online_agent(live, "emoji.tools@example.com", "سارا")  # the composer shows
    attrs = 'data-site="demo" data-locale="fa"'
    async with shop(browser, live, page={"attrs": attrs}, problems=problems, **FA) as sh:
        frame = await open_panel(sh.page)
        button = frame.get_by_test_id("emoji-button")  # comes with the panel's lazy part
        await expect(button).to_be_visible()
        assert await button.get_attribute("aria-label") == "افزودن شکلک"
        composer = frame.get_by_test_id("composer")
        await composer.fill("ممنون")
        await button.click()
        await expect(frame.get_by_test_id("emoji-grid")).to_be_visible()
        await sh.page.keyboard.press("ArrowLeft")
        await sh.page.keyboard.press("ArrowLeft")
        await sh.page.keyboard.press("Enter")
        await expect(frame.get_by_test_id("emoji-grid")).to_be_hidden()
        await expect(composer).to_have_value("ممنون🙂")
        # The widget already refuses a text over the limit, keeping it (chat.js tooLong).
        long_text = "ب" * 4001
        await composer.fill(long_text)
        await expect(frame.get_by_test_id("too-long")).to_be_visible()
        await expect(composer).to_have_value(long_text)
    await agent.close()
    assert problems == []


async def test_the_dashboard_csv_downloads(browser: Browser, live: LiveServer) -> None:
    await add_agent(live, "dara.tools@example.com", "دارا", "csv", role="supervisor")
    v, conv = await visitor_writes(live, "csv", "سلام", name="مینا رضایی")
    await v.close()
    ctx = await browser.new_context(accept_downloads=True, **FA)  # type: ignore[arg-type]
    page = await ctx.new_page()
    problems: list[str] = []
    watch(page, problems)
    try:
        await log_in_fa(page, live.base_url, "dara.tools@example.com")
        await page.goto(f"{live.base_url}/dashboard")
        await expect(page.get_by_test_id("export")).to_be_visible()
        assert latin_words(await visible_text(page)) == []

        async with page.expect_download() as info:
            await page.get_by_test_id("export-days").click()
        download = await info.value
        assert download.suggested_filename.startswith("dashboard-days-csv-")
        text = (await download.path()).read_text(encoding="utf-8")
        assert text.startswith("\ufeff")
        rows = list(csv.reader(io.StringIO(text[1:])))
        assert rows[0][:2] == ["date", "started"] and len(rows) == 2 and rows[1][1] == "1"

        async with page.expect_download() as info:
            await page.get_by_test_id("export-conversations").click()
        text = (await (await info.value).path()).read_text(encoding="utf-8")
        rows = list(csv.reader(io.StringIO(text[1:])))
        assert [r[0] for r in rows[1:]] == [conv]
        assert rows[1][rows[0].index("visitor_name")] == "مینا رضایی"
        assert problems == []
    finally:
        await ctx.close()
