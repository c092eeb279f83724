"""Issue 20's Persian console: an agent whose browser speaks Persian (fa-IR) works a whole
chat (takes it, a canned response, a note, a label, finds it by search typed on an Arabic
keyboard, exports her chats, a transfer) in a right-to-left console without one Latin letter
on screen beyond what people wrote, and English comes back when the account chooses it. The
screenshots are the README's (docs/img/)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from chatserver.store import Store
from tests.browser.console_support import (
    PASSWORD,
    add_agent,
    chat,
    console_server,
    log_in,
    visitor_says,
    visitor_writes,
    watch,
)
from tests.servers import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
FA = {"locale": "fa-IR", "timezone_id": "Asia/Tehran", "viewport": {"width": 1280, "height": 800}}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with console_server(tmp_path_factory.mktemp("persian")) as server:
        yield server


async def visible_text(page: Page) -> str:
    """What an agent reads: innerText of the rendered page, user content left out."""
    text: str = await page.evaluate(
        r"""() => {
          const marked = [...document.querySelectorAll("[data-user-content]")];
          const saved = marked.map((n) => [n, n.style.display]);
          for (const n of marked) n.style.display = "none";
          // What CSS adds (::before, ::after) is on screen too.
          const added = [];
          for (const n of document.body.querySelectorAll("*")) {
            if (!n.checkVisibility() || n.closest("[data-user-content]")) continue;
            for (const pseudo of ["::before", "::after"]) {
              const content = getComputedStyle(n, pseudo).content || "";
              // Quoted strings, and attr(name) as the element's attribute.
              const value = (_, a) => `"${n.getAttribute(a) || ""}"`;
              added.push(content.replace(/attr\(([\w-]+)\)/g, value).replace(/^none$/, ""));
            }
          }
          const text = [document.body.innerText, ...added].join(" ");
          for (const [n, d] of saved) n.style.display = d;
          return text;
        }"""
    )
    return text


def latin_words(text: str) -> list[str]:
    """Latin words and digits (Persian has its own: ۰-۹); key caps keep their Latin names on
    Persian keyboards too."""
    keys = {"Alt", "Enter", "Shift", "Tab"}
    return [w for w in re.findall(r"[A-Za-z0-9][A-Za-z0-9+]*", text) if w not in keys]


async def log_in_fa(page: Page, base_url: str, email: str) -> None:
    await page.goto(f"{base_url}/login")
    assert await page.get_attribute("html", "dir") == "rtl"
    assert latin_words(await visible_text(page)) == []
    await page.get_by_label("ایمیل").fill(email)
    await page.get_by_label("گذرواژه").fill(PASSWORD)
    await page.get_by_role("button", name="ورود").click()
    await expect(page.get_by_test_id("agent-status")).to_have_text(
        re.compile("^(آنلاین|دور از میز)$")
    )


async def test_a_whole_chat_in_a_persian_console(browser: Browser, live: LiveServer) -> None:
    await add_agent(live, "sara.fa@example.com", "سارا", "fa", capacity=3)
    await add_agent(live, "reza.fa@example.com", "رضا", "fa", capacity=3)
    store = Store.from_url(live.redis_url)
    try:
        await store.save_canned("fa", "salam", "سلام {name}، من {agent} هستم. چطور کمکتان کنم؟")
        await store.save_label("fa", "", "پیگیری سفارش", "orange")
    finally:
        await store.close()
    problems: list[str] = []
    sara_ctx = await browser.new_context(**FA)  # type: ignore[arg-type]
    reza_ctx = await browser.new_context()
    sara, reza = await sara_ctx.new_page(), await reza_ctx.new_page()
    watch(sara, problems)
    try:
        await log_in_fa(sara, live.base_url, "sara.fa@example.com")
        assert await sara.get_attribute("html", "lang") == "fa"
        await expect(sara.get_by_test_id("agent-status")).to_have_text("آنلاین")
        # Away, so the chat waits in the queue, and she takes it from there.
        await sara.get_by_test_id("agent-status").click()
        await expect(sara.get_by_test_id("agent-status")).to_have_text("دور از میز")
        page_info = {"url": "https://shop.example.com/p/1", "title": "کفش ورزشی"}
        v, conv = await visitor_writes(
            live, "fa", "سلام، سفارش ۱۲۳۴۵ من کجاست؟", name="علی رضایی", page=page_info
        )
        item = sara.get_by_test_id("queue-item")
        await expect(item).to_have_count(1)
        await expect(item.get_by_test_id("queue-wait")).to_have_text(re.compile("^[۰-۹]+ ثانیه$"))
        await expect(sara.get_by_test_id("queue-count")).to_have_text("۱")
        assert latin_words(await visible_text(sara)) == []
        await item.get_by_test_id("take").click()
        await expect(chat(sara, conv)).to_be_visible()
        await sara.get_by_test_id("agent-status").click()  # online again
        await expect(sara.get_by_test_id("agent-status")).to_have_text("آنلاین")
        await log_in(reza, live.base_url, "reza.fa@example.com")  # English: his browser's
        await chat(sara, conv).click()
        thread = sara.get_by_test_id("thread")
        await expect(sara.get_by_test_id("thread-title")).to_have_text("علی رضایی")

        # A canned response with the names filled in.
        composer = sara.get_by_test_id("composer")
        await composer.press_sequentially("/sal")
        await expect(sara.get_by_test_id("canned-option")).to_have_count(1)
        await composer.press("Enter")
        await expect(composer).to_have_value("سلام علی رضایی، من سارا هستم. چطور کمکتان کنم؟")
        await composer.press("Enter")
        reply = await v.expect("message", lambda f: f["from"] == "agent")
        assert reply["text"].startswith("سلام علی رضایی")
        await expect(thread.get_by_test_id("message-state").last).to_have_text(
            re.compile("^(فرستاده شد|دیده شد)$")
        )
        await visitor_says(v, "ممنون، منتظرم.")

        # A private note.
        await sara.get_by_test_id("mode-note").click()
        await composer.fill("مشتری ویژه؛ پیگیری شود.")
        await composer.press("Enter")
        await expect(thread.get_by_test_id("note")).to_contain_text("یادداشت · شما")

        # A label from the thread's header.
        await sara.get_by_test_id("label-add").click()
        option = sara.get_by_test_id("label-menu").get_by_test_id("label-option")
        await expect(option).to_have_count(1)
        await option.click()
        chip = sara.get_by_test_id("thread-labels").get_by_test_id("label-chip")
        await expect(chip).to_contain_text("پیگیری سفارش")
        await expect(chat(sara, conv).get_by_test_id("label-chip")).to_contain_text("پیگیری")

        await expect(thread.get_by_test_id("message")).to_have_count(3)
        text = await visible_text(sara)
        assert "گفتگوهای من" in text and "صف" in text, text
        assert latin_words(text) == [], text
        IMG.mkdir(parents=True, exist_ok=True)
        await sara.screenshot(path=str(IMG / "console-fa.png"))

        # Search, typed on an Arabic keyboard (ك for ک) with Persian digits, finds the chat.
        box = sara.get_by_test_id("search-input")
        await box.press_sequentially("كجاست ۱۲۳۴۵")
        result = sara.get_by_test_id("search-result")
        await expect(result).to_have_count(1)
        await expect(result.locator(".search-title")).to_have_text("علی رضایی")
        assert await result.get_attribute("data-conversation") == conv
        assert latin_words(await visible_text(sara)) == []
        await box.fill("")

        # Her chats as CSV, the label's name in it.
        async with sara.expect_download() as info:
            await sara.get_by_test_id("export-link").click()
        rows = list(
            csv.reader(io.StringIO((await (await info.value).path()).read_text("utf-8")[1:]))
        )
        mine = next(r for r in rows[1:] if r[0] == conv)
        assert mine[rows[0].index("labels")] == "پیگیری سفارش"

        # The transfer dialog, then the transfer.
        await sara.get_by_test_id("mode-reply").click()
        await sara.get_by_test_id("transfer").click()
        dialog = sara.get_by_test_id("transfer-dialog")
        target = dialog.get_by_test_id("transfer-agent").filter(has_text="رضا")
        await expect(target).to_contain_text("آنلاین · ۰/۳")
        assert latin_words(await visible_text(sara)) == []
        await target.locator("input").check()
        await dialog.get_by_test_id("transfer-note").fill("سفارش ۱۲۳۴۵ را بررسی کن.")
        await dialog.get_by_test_id("transfer-submit").click()
        await expect(dialog).to_be_hidden()
        await expect(chat(sara, conv)).to_have_count(0)
        await expect(sara.get_by_test_id("status-line")).to_have_text("گفتگو واگذار شد.")
        await expect(sara.get_by_test_id("load")).to_have_text("۰ / ۳")
        assert latin_words(await visible_text(sara)) == []
        await expect(chat(reza, conv)).to_be_visible()
        assert problems == []
        await v.close()
    finally:
        await sara_ctx.close()
        await reza_ctx.close()


async def test_the_account_chooses_english_and_the_calendar(
    browser: Browser, live: LiveServer
) -> None:
    await add_agent(live, "mina.fa@example.com", "مینا", "fa2", role="supervisor", capacity=2)
    problems: list[str] = []
    ctx = await browser.new_context(**FA)  # type: ignore[arg-type]
    page = await ctx.new_page()
    watch(page, problems)
    try:
        await log_in_fa(page, live.base_url, "mina.fa@example.com")
        # The dashboard in Persian, right to left, its figures in Persian digits.
        await page.goto(f"{live.base_url}/dashboard")
        await expect(page.get_by_test_id("live")).to_have_text("زنده")
        await expect(page.get_by_test_id("queue-count")).to_have_text("۰")
        assert await page.get_attribute("html", "dir") == "rtl"
        dash = await page.get_by_test_id("dashboard").evaluate(
            """(root) => {
              const marked = root.querySelectorAll("[data-user-content]");
              for (const n of marked) n.style.display = "none";
              const text = root.innerText;
              for (const n of marked) n.style.display = "";
              return text;
            }"""
        )
        assert latin_words(dash) == [], dash
        await page.screenshot(path=str(IMG / "dashboard-fa.png"), full_page=True)

        # Right to left on a 390 px phone: nothing wider than the screen.
        await page.set_viewport_size({"width": 390, "height": 844})
        for path in ("/agent", "/dashboard", "/account"):
            await page.goto(live.base_url + path)
            await page.wait_for_load_state()
            width = await page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 390, (path, width)
        await page.set_viewport_size(FA["viewport"])  # type: ignore[arg-type]

        # Sessions on the account page show Solar Hijri dates in Persian.
        await page.goto(f"{live.base_url}/account")
        sessions = page.get_by_test_id("sessions")
        year = await sessions.locator("td").first.inner_text()
        assert re.search("[۱۲۳۴۵۶۷۸۹۰]{4}", year) and "۱۴" in year, year

        # English and the Gregorian calendar, chosen on the account page.
        await page.get_by_test_id("language-select").select_option("en")
        await page.get_by_test_id("calendar-select").select_option("gregory")
        await page.get_by_test_id("language-save").click()
        await expect(page.get_by_test_id("saved")).to_have_text(
            "Saved: the console uses this language and calendar from now on."
        )
        assert await page.get_attribute("html", "dir") == "ltr"
        assert re.search(r"\b20\d\d\b", await sessions.locator("td").first.inner_text())
        await page.goto(f"{live.base_url}/agent")
        await expect(page.get_by_test_id("agent-status")).to_have_text("Away")
        await expect(page.get_by_test_id("thread-placeholder")).to_have_text(
            "Select a chat, or take one from the queue."
        )
        assert await page.get_attribute("html", "lang") == "en"
        # Back to the browser's language: Persian again.
        await page.goto(f"{live.base_url}/account")
        await page.get_by_test_id("language-select").select_option("")
        await page.get_by_test_id("language-save").click()
        assert await page.get_attribute("html", "lang") == "fa"
        assert problems == []
    finally:
        await ctx.close()
