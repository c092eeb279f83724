"""Canned responses in a Persian console, in real Chromium: an agent keeps one of their own
(/سلام, with variables and a fallback) from "My canned responses", finds it by typing part of
its shortcut (beside the site's entry of the same shortcut, theirs first and marked), finds a
shared one typed on an Arabic keyboard, and visitors with and without a name receive the
filled text; the dialog shows how often each was used."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.async_api import Browser, Page, expect

from chatserver.store import Store
from tests.browser.console_support import (
    add_agent,
    chat,
    console_server,
    visitor_writes,
    watch,
)
from tests.browser.test_console_persian import FA, latin_words, log_in_fa, visible_text
from tests.servers import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]
SITE = "canned-fa"
TEXT = "سلام {name|دوست}، من {agent} از {site} هستم"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with console_server(tmp_path_factory.mktemp("canned")) as server:
        yield server


async def insert(page: Page, typed: str, expected: str) -> None:
    """Type ``typed`` in the composer, take the picker's first entry (its use counted on the
    server before this returns) and check the filled text."""
    composer = page.get_by_test_id("composer")
    await composer.press_sequentially(typed)
    await expect(page.get_by_test_id("canned-option").first).to_be_visible()
    async with page.expect_response("**/api/console/canned/uses") as counted:
        await composer.press("Enter")
    assert (await counted.value).ok
    await expect(composer).to_have_value(expected)


async def test_an_agents_own_canned_response_with_variables(
    browser: Browser, live: LiveServer
) -> None:
    await add_agent(live, "sara.canned@example.com", "سارا", SITE, capacity=3)
    store = Store.from_url(live.redis_url)
    try:
        await store.update_site(SITE, {"name": "فروشگاه نمونه"})
        await store.save_canned(SITE, "سلام", "درود بر شما")
        await store.save_canned(SITE, "کمک", "چطور می‌توانم کمکتان کنم؟")
    finally:
        await store.close()
    problems: list[str] = []
    ctx = await browser.new_context(**FA)  # type: ignore[arg-type]
    page = await ctx.new_page()
    watch(page, problems)
    try:
        await log_in_fa(page, live.base_url, "sara.canned@example.com")

        # Her own, from the dialog; a braced word that is no variable is refused first.
        await page.get_by_test_id("my-canned-button").click()
        dialog = page.get_by_test_id("my-canned-dialog")
        await expect(dialog).to_be_visible()
        await expect(dialog.get_by_test_id("my-canned-list")).to_contain_text("هنوز")
        await dialog.get_by_test_id("my-canned-shortcut").fill("/سلام")
        await dialog.get_by_test_id("my-canned-text").fill("سلام {نام}")
        await dialog.get_by_test_id("my-canned-save").click()
        error = dialog.get_by_test_id("my-canned-error")
        await expect(error).to_contain_text("متغیر نیست")
        await expect(error).to_contain_text("{نام}")
        assert latin_words(await visible_text(page)) == []
        await dialog.get_by_test_id("my-canned-text").fill(TEXT)
        await dialog.get_by_test_id("my-canned-save").click()
        row = dialog.get_by_test_id("my-canned-row")
        await expect(row).to_have_count(1)
        await expect(row).to_contain_text("/سلام")
        await expect(row.get_by_test_id("my-canned-uses")).to_have_text("۰ بار استفاده شده")
        await expect(error).to_be_hidden()
        assert latin_words(await visible_text(page)) == []
        await dialog.get_by_test_id("my-canned-close").click()
        await expect(dialog).to_be_hidden()

        # A visitor with a name: both /سلام entries, hers first and marked; her names filled.
        v, conv = await visitor_writes(live, SITE, "سلام، وقت بخیر", name="علی")
        await chat(page, conv).click()
        composer = page.get_by_test_id("composer")
        await composer.press_sequentially("/سلا")
        options = page.get_by_test_id("canned-option")
        await expect(options).to_have_count(2)
        await expect(options.first.get_by_test_id("canned-option-mine")).to_have_text("شخصی")
        await expect(options.nth(1).get_by_test_id("canned-option-mine")).to_have_count(0)
        await composer.fill("")
        await insert(page, "/سلا", "سلام علی، من سارا از فروشگاه نمونه هستم")
        await composer.press("Enter")
        reply = await v.expect("message", lambda f: f["from"] == "agent")
        assert reply["text"] == "سلام علی، من سارا از فروشگاه نمونه هستم"

        await page.get_by_test_id("my-canned-button").click()
        await expect(row.get_by_test_id("my-canned-uses")).to_have_text("۱ بار استفاده شده")
        await dialog.get_by_test_id("my-canned-close").click()

        # A visitor without a name: the fallback; a shared one typed with the Arabic kaf.
        w, conv2 = await visitor_writes(live, SITE, "کمک می‌خواهم")
        await chat(page, conv2).click()
        await insert(page, "/سل", "سلام دوست، من سارا از فروشگاه نمونه هستم")
        await composer.press("Enter")
        reply = await w.expect("message", lambda f: f["from"] == "agent")
        assert reply["text"] == "سلام دوست، من سارا از فروشگاه نمونه هستم"
        await insert(page, "/كم", "چطور می‌توانم کمکتان کنم؟")
        await composer.press("Enter")
        reply = await w.expect("message", lambda f: f["from"] == "agent" and "کمک" in f["text"])

        store = Store.from_url(live.redis_url)
        try:
            assert await store.canned_uses(SITE) == {"کمک": 1}
        finally:
            await store.close()
        await page.get_by_test_id("my-canned-button").click()
        await expect(row.get_by_test_id("my-canned-uses")).to_have_text("۲ بار استفاده شده")
        assert problems == []
        await v.close()
        await w.close()
    finally:
        await ctx.close()


async def test_the_sites_supervisor_keeps_the_shared_set_in_persian(
    browser: Browser, live: LiveServer
) -> None:
    site = "canned-fa2"
    await add_agent(live, "mina.canned@example.com", "مینا", site, role="supervisor")
    store = Store.from_url(live.redis_url)
    try:
        await store.update_site(site, {"name": "کتاب‌فروشی"})
        await store.save_canned(site, "کمک", "چطور کمکتان کنم؟")
        for _ in range(3):
            await store.count_canned_use(site, "", False, "کمک")
    finally:
        await store.close()
    problems: list[str] = []
    ctx = await browser.new_context(**FA)  # type: ignore[arg-type]
    page = await ctx.new_page()
    watch(page, problems)
    try:
        await log_in_fa(page, live.base_url, "mina.canned@example.com")
        await page.goto(f"{live.base_url}/admin/sites/{site}/canned")
        await expect(page.locator("h1")).to_have_text("پاسخ‌های آماده")
        row = page.get_by_test_id("canned-row")
        await expect(row.get_by_test_id("canned-uses")).to_have_text("۳")
        await expect(page.get_by_test_id("read-only")).to_have_count(0)
        assert latin_words(await visible_text(page)) == []
        add = page.get_by_test_id("add-canned")
        await add.get_by_label("میان‌بر").fill("/خوش-آمد")
        await add.get_by_label("متن").fill("به {site} خوش آمدید، {visitor}")
        await add.get_by_role("button", name="افزودن").click()
        await expect(page.get_by_test_id("form-errors")).to_contain_text("{visitor} متغیر نیست")
        await add.get_by_label("متن").fill("به {site} خوش آمدید، {name|دوست}")
        await add.get_by_role("button", name="افزودن").click()
        await expect(row).to_have_count(2)
        await expect(row.filter(has_text="/خوش-آمد").get_by_test_id("canned-uses")).to_have_text(
            "۰"
        )
        assert latin_words(await visible_text(page)) == []
        assert problems == []
    finally:
        await ctx.close()
