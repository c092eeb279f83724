"""A site's notice in real Chromium: a supervisor posts it on the dashboard (in Persian, and
once in English); a widget that is open shows it live without a reload, a widget opened
afterwards shows it (and its launcher's dot before the panel opens), a visitor can hide it,
taking it down removes it live, and the widget hides it at its expiry."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from chatserver.core.notices import check
from chatserver.store import Store
from tests.browser.console_support import PASSWORD, log_in, read_store, watch
from tests.browser.test_console_persian import log_in_fa
from tests.browser.widget_helpers import online_agent, open_panel, panel, say, shop

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

FA = {"locale": "fa-IR", "timezone_id": "Asia/Tehran"}
TEXT = {
    "fa": "پرداخت‌ها با تأخیر انجام می‌شود؛ در حال پیگیری هستیم. www.example.com/status",
    "en": "Payments are delayed; we are on it. www.example.com/status",
}
POST = {"fa": "انتشار اطلاعیه", "en": "Post notice"}
END = {"fa": "برداشتن اطلاعیه", "en": "Take it down"}


async def dashboard(browser: Browser, live: Any, locale: str, problems: list[str]) -> Page:
    email = f"boss.{locale}@example.com"
    name = "مینا" if locale == "fa" else "Mina"
    await asyncio.to_thread(live.add_agent, email, PASSWORD, name, 0, "supervisor")
    ctx = await browser.new_context(**(FA if locale == "fa" else {}))  # type: ignore[arg-type]
    page = await ctx.new_page()
    watch(page, problems)
    await (log_in_fa if locale == "fa" else log_in)(page, live.base_url, email)
    await page.goto(f"{live.base_url}/dashboard")
    await expect(page.get_by_test_id("notice-current")).not_to_be_empty()
    return page


@pytest.mark.parametrize("locale", ["fa", "en"])
async def test_a_notice_reaches_open_widgets_live(
    browser: Browser, live_server: Any, locale: str
) -> None:
    problems: list[str] = []
    agent = await online_agent(live_server)
    staff = await dashboard(browser, live_server, locale, problems)
    attrs = {"attrs": f'data-site="demo" data-locale="{locale}"', "lang": locale}
    try:
        async with shop(browser, live_server, page=attrs, problems=problems) as first:
            frame = await open_panel(first.page)
            sent = re.compile("^(ارسال شد|خوانده شد)$") if locale == "fa" else "sent"
            await say(frame, "سلام" if locale == "fa" else "Hello", sent)
            await agent.expect("assigned")
            notice = frame.get_by_test_id("notice")
            await expect(notice).to_be_hidden()

            # Posted on the dashboard: the open widget shows it without a reload.
            await staff.get_by_test_id("notice-en").fill(TEXT["en"])
            await staff.get_by_test_id("notice-fa").fill(TEXT["fa"])
            await staff.get_by_test_id("notice-expires").select_option("3600")
            await staff.get_by_role("button", name=POST[locale]).click()
            await expect(staff.get_by_test_id(f"notice-current-{locale}")).to_have_text(
                TEXT[locale]
            )
            until = await staff.get_by_test_id("notice-current").inner_text()
            if locale == "fa":
                assert re.search("[۰-۹]", until) and not re.search("[0-9]", until), until
            await expect(notice).to_be_visible()
            text = frame.get_by_test_id("notice-text")
            await expect(text).to_have_text(TEXT[locale])
            assert await notice.get_attribute("role") == "status"
            assert await text.get_attribute("dir") == "auto"
            assert await text.get_attribute("lang") == locale
            # Its web address is a safe link, as in messages.
            link = text.get_by_role("link")
            assert await link.get_attribute("href") == "https://www.example.com/status"
            assert "noopener" in (await link.get_attribute("rel") or "")
            if locale == "fa":
                # Right to left: the dismiss button sits at the banner's left end.
                box = await notice.bounding_box()
                button = await frame.get_by_test_id("notice-dismiss").bounding_box()
                assert box and button and button["x"] < box["x"] + box["width"] / 2
            # Closed, the launcher shows the notice's dot.
            await frame.get_by_test_id("close").click()
            await expect(frame.get_by_test_id("notice-dot")).to_be_visible()

            # A visitor who comes now sees the dot before opening, and the notice inside.
            async with shop(browser, live_server, page=attrs, problems=problems) as second:
                later = await panel(second.page)
                await expect(later.get_by_test_id("notice-dot")).to_be_visible()
                later = await open_panel(second.page)
                await expect(later.get_by_test_id("notice-text")).to_have_text(TEXT[locale])
                await expect(later.get_by_test_id("notice-dot")).to_be_hidden()

                # Replaced with one in the other language only: the widget falls back to it.
                other = "en" if locale == "fa" else "fa"
                await staff.get_by_test_id(f"notice-{locale}").fill("")
                await staff.get_by_role("button", name=POST[locale]).click()
                await expect(staff.get_by_test_id(f"notice-current-{other}")).to_be_visible()
                await expect(frame.get_by_test_id("notice-text")).to_have_text(TEXT[other])
                assert await frame.get_by_test_id("notice-text").get_attribute("lang") == other

                # Taken down: gone live from the widget with a socket, and from the one
                # without (its config is looked at again while the panel is open).
                await staff.get_by_role("button", name=END[locale]).click()
                await expect(staff.get_by_test_id("notice-end")).to_be_hidden()
                await expect(frame.get_by_test_id("notice-dot")).to_be_hidden()
                await expect(later.get_by_test_id("notice")).to_be_hidden()
                await frame.get_by_test_id("launcher").click()
                await expect(frame.get_by_test_id("notice")).to_be_hidden()
    finally:
        await staff.context.close()
        await agent.close()
    assert problems == []


async def test_a_visitor_hides_the_notice_for_the_session(
    browser: Browser, live_server: Any
) -> None:
    problems: list[str] = []
    staff = await dashboard(browser, live_server, "en", problems)
    try:
        await staff.get_by_test_id("notice-en").fill("We are closed on Friday.")
        await staff.get_by_role("button", name="Post notice").click()
        await expect(staff.get_by_test_id("notice-current-en")).to_be_visible()
        async with shop(browser, live_server, problems=problems) as s:
            frame = await open_panel(s.page)
            await expect(frame.get_by_test_id("notice-text")).to_have_text(
                "We are closed on Friday."
            )
            await frame.get_by_test_id("notice-dismiss").click()
            await expect(frame.get_by_test_id("notice")).to_be_hidden()
            await frame.get_by_test_id("close").click()
            await expect(frame.get_by_test_id("notice-dot")).to_be_hidden()
            # The next page of this tab keeps it hidden, closed and open.
            await s.page.reload()
            frame = await panel(s.page)
            await expect(frame.get_by_test_id("notice-dot")).to_have_count(1)
            # (It may open again by itself: it was open on this tab's page until just now.)
            await s.page.evaluate("Chatserver.close()")
            await expect(frame.locator("body")).not_to_have_class(re.compile(r"\bopen\b"))
            await expect(frame.get_by_test_id("notice-dot")).to_be_hidden()
            await s.page.evaluate("Chatserver.open()")
            await expect(frame.locator("body")).to_have_class(re.compile(r"\bopen\b"))
            await expect(frame.get_by_test_id("notice")).to_be_hidden()
    finally:
        await staff.context.close()
    assert problems == []


async def test_the_widget_hides_the_notice_at_its_expiry(
    browser: Browser, live_server: Any
) -> None:
    """No frame comes when a notice expires: the widget hides it at ``expires_at`` itself (the
    browser's clock is moved on, not waited for)."""
    now = int(time.time() * 1000)
    notice = check({"text": {"en": "Back at noon."}, "expires_in": 120}, now, "n_exp", "Mina")

    async def post(store: Store) -> None:
        await store.post_notice("demo", notice)

    await asyncio.to_thread(read_store, live_server, post)
    problems: list[str] = []
    async with shop(browser, live_server, problems=problems) as s:
        await s.ctx.clock.install()
        await s.page.reload()
        frame = await panel(s.page)
        await expect(frame.get_by_test_id("notice-dot")).to_be_visible()
        frame = await open_panel(s.page)
        await expect(frame.get_by_test_id("notice-text")).to_have_text("Back at noon.")
        await s.ctx.clock.fast_forward("03:00")
        await expect(frame.get_by_test_id("notice")).to_be_hidden()
        await frame.get_by_test_id("close").click()
        await expect(frame.get_by_test_id("notice-dot")).to_be_hidden()
    assert problems == []
