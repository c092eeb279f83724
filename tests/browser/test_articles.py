"""Help articles in real Chromium. In Persian: a supervisor writes an article on the admin
page, a Persian widget whose visitor types a matching word with an Arabic-keyboard letter is
suggested it, opens it inside the panel, says it answered the question, and the dashboard's
"answered by a help article" shows ۱. In English: a suggestion opened, "I still need help",
the message sent, and the agent's console lists the article the visitor read."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.async_api import Browser, expect

from chatserver.core.articles import Article
from tests.browser.console_support import add_agent, console_server, log_in, read_store, watch
from tests.browser.test_console_persian import FA, log_in_fa
from tests.browser.widget_helpers import open_panel, say, shop
from tests.servers import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with console_server(tmp_path_factory.mktemp("articles")) as server:
        yield server


async def test_a_persian_article_suggested_read_and_counted(
    browser: Browser, live: LiveServer
) -> None:
    await add_agent(live, "mina.h@example.com", "مینا", "demo", role="supervisor")
    problems: list[str] = []
    ctx = await browser.new_context(**FA)  # type: ignore[arg-type]
    staff = await ctx.new_page()
    watch(staff, problems)
    try:
        await log_in_fa(staff, live.base_url, "mina.h@example.com")
        await staff.goto(f"{live.base_url}/admin/sites/demo")
        await staff.get_by_test_id("articles-link").click()
        await expect(staff.get_by_role("heading", name="مقاله‌های راهنما")).to_be_visible()
        await staff.get_by_test_id("new-article").click()
        await staff.get_by_test_id("article-title-input").fill("شارژ کیف پول")
        await staff.get_by_test_id("article-lang").select_option("fa")
        await staff.get_by_test_id("article-category").fill("پرداخت")
        await staff.get_by_test_id("article-body").fill(
            "برای شارژ **کیف پول** از کارت بانکی استفاده کنید.\n\n<script>alert(1)</script>"
        )
        await staff.get_by_test_id("article-published").check()
        await staff.get_by_test_id("article-save").click()
        await expect(staff.get_by_test_id("saved")).to_be_visible()
        row = staff.get_by_test_id("article-row")
        await expect(row.get_by_test_id("article-title")).to_have_text("شارژ کیف پول")
        await expect(row.get_by_test_id("article-status")).to_have_text("منتشرشده")

        attrs = {"attrs": 'data-site="demo" data-locale="fa"', "lang": "fa"}
        async with shop(browser, live, page=attrs, problems=problems, **FA) as s:
            frame = await open_panel(s.page)
            suggestions = frame.get_by_test_id("article-suggestions")
            await expect(suggestions).to_be_hidden()
            # Nobody is online: the first message is written in the form that asks for an
            # e-mail address. ك and ي of an Arabic keyboard; the article has ک and ی.
            message = frame.get_by_test_id("start-form").get_by_label("پیام")
            await message.press_sequentially("كيف")
            await expect(suggestions).to_be_visible()
            await expect(suggestions).to_contain_text("مقاله‌هایی که شاید کمک کنند")
            item = frame.get_by_test_id("article-suggestion")
            await expect(item).to_have_count(1)
            await expect(item).to_have_text("شارژ کیف پول")
            await item.click()
            view = frame.get_by_test_id("article-view")
            await expect(view).to_be_visible()
            await expect(frame.get_by_test_id("article-view-title")).to_have_text("شارژ کیف پول")
            body = frame.get_by_test_id("article-body")
            await expect(body.locator("strong")).to_have_text("کیف پول")
            await expect(body).to_contain_text("<script>alert(1)</script>")  # text, inert
            assert await body.locator("script").count() == 0
            await expect(frame.get_by_test_id("messages")).to_be_hidden()
            await expect(frame.get_by_test_id("start-form")).to_be_hidden()
            answered = frame.get_by_test_id("article-answered")
            await expect(answered).to_have_text("پاسخ سؤالم را گرفتم")
            await answered.click()
            await expect(frame.get_by_test_id("article-thanks")).to_be_visible()

        await staff.goto(f"{live.base_url}/dashboard")
        deflected = (
            staff.get_by_test_id("periods")
            .locator("tr")
            .filter(has_text="پاسخ‌گرفته با مقالهٔ راهنما")
        )
        await expect(deflected.locator("td").nth(1)).to_have_text("۱")
        await expect(deflected.locator("td").nth(2)).to_have_text("–")

        # The public help page lists it, right to left.
        await staff.goto(f"{live.base_url}/help/demo?lang=fa")
        assert await staff.get_attribute("html", "dir") == "rtl"
        await staff.get_by_test_id("help-search").fill("كيف")
        await staff.get_by_test_id("help-search-go").click()
        await staff.get_by_test_id("help-result").click()
        await expect(staff.get_by_test_id("help-body").locator("strong")).to_have_text("کیف پول")
    finally:
        await ctx.close()
    assert problems == []


async def test_an_english_visitor_still_needs_help_and_the_agent_sees_the_read(
    browser: Browser, live: LiveServer
) -> None:
    async def write(store: object) -> str:
        article = Article("", "Track your order", "Open **My orders**.", "en", "Orders", True)
        return await store.save_article("demo", article)  # type: ignore[attr-defined,no-any-return]

    read_store(live, write)
    await add_agent(live, "sam.h@example.com", "Sam", "demo", capacity=3)
    problems: list[str] = []
    ctx = await browser.new_context()
    console = await ctx.new_page()
    watch(console, problems)
    try:
        await log_in(console, live.base_url, "sam.h@example.com")
        async with shop(browser, live, problems=problems) as s:
            frame = await open_panel(s.page)
            composer = frame.get_by_test_id("composer")
            await composer.press_sequentially("where do I track")
            item = frame.get_by_test_id("article-suggestion").filter(has_text="Track your order")
            await item.click()
            await expect(frame.get_by_test_id("article-body").locator("strong")).to_have_text(
                "My orders"
            )
            await frame.get_by_test_id("article-more-help").click()
            await expect(frame.get_by_test_id("article-view")).to_be_hidden()
            await expect(composer).to_be_focused()
            await composer.fill("")
            await say(frame, "Where is my order 42?")
            await expect(frame.get_by_test_id("article-suggestions")).to_be_hidden()

            entry = console.get_by_test_id("conversation").filter(has_text="Where is my order 42?")
            await expect(entry).to_have_count(1)
            await entry.click()
            details = console.get_by_test_id("visitor-details")
            read = details.get_by_test_id("visit-page").filter(has_text="Track your order")
            await expect(read).to_have_count(1)
            link = read.get_by_role("link")
            href = await link.get_attribute("href") or ""
            assert href.startswith(f"{live.base_url}/help/demo/a_")

            # The agent answers with a link to it, from the composer's Articles button.
            await console.get_by_test_id("articles-button").click()
            await console.get_by_test_id("articles-search").fill("track")
            pick = console.get_by_test_id("article-pick").filter(has_text="Track your order")
            await pick.click()
            await expect(console.get_by_test_id("composer")).to_have_value(
                f"Track your order {href}"
            )
            await expect(console.get_by_test_id("articles-box")).to_be_hidden()
    finally:
        await ctx.close()
    assert problems == []
