"""Issue 20's Persian admin pages: an admin whose browser speaks Persian (fa-IR) goes through
every admin page (sites, a site's settings, agents, an agent, canned responses, webhooks,
privacy, the audit log, the outbox and one mail) and finds each right to left without one
Latin letter on screen beyond what people wrote or named (``data-user-content``); a refused
form says why in Persian. The screenshot is docs/img/admin-fa.png."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from chatserver.store import Store
from tests.browser.console_support import PASSWORD, add_agent, console_server, watch
from tests.servers import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
FA = {"locale": "fa-IR", "timezone_id": "Asia/Tehran", "viewport": {"width": 1280, "height": 800}}
SITE = "faadmin"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with console_server(tmp_path_factory.mktemp("admin-persian")) as server:
        yield server


async def visible_text(page: Page) -> str:
    """What the admin reads: innerText of the rendered page and what CSS adds, user content
    left out."""
    text: str = await page.evaluate(
        r"""() => {
          const marked = [...document.querySelectorAll("[data-user-content]")];
          const saved = marked.map((n) => [n, n.style.display]);
          for (const n of marked) n.style.display = "none";
          const added = [];
          for (const n of document.body.querySelectorAll("*")) {
            if (!n.checkVisibility() || n.closest("[data-user-content]")) continue;
            for (const pseudo of ["::before", "::after"]) {
              const content = getComputedStyle(n, pseudo).content || "";
              added.push(content.replace(/^none$/, ""));
            }
          }
          const text = [document.body.innerText, ...added].join(" ");
          for (const [n, d] of saved) n.style.display = d;
          return text;
        }"""
    )
    return text


def latin(text: str) -> list[str]:
    return re.findall(r"[A-Za-z]+", text)


async def persian_page(page: Page, url: str, heading: str) -> str:
    """Open ``url``: right to left, its heading ``heading``, no Latin letter on screen."""
    await page.goto(url)
    assert await page.get_attribute("html", "dir") == "rtl"
    assert await page.get_attribute("html", "lang") == "fa"
    await expect(page.locator("h1")).to_contain_text(heading)
    text = await visible_text(page)
    assert latin(text) == [], f"{url}: {latin(text)}\n{text}"
    return text


async def test_every_admin_page_in_persian(browser: Browser, live: LiveServer) -> None:
    await add_agent(live, "admin.fa@example.com", "مدیر سایت", SITE, role="admin")
    agent_id = await add_agent(live, "nika.fa@example.com", "نیکا", SITE, capacity=2)
    store = Store.from_url(live.redis_url)
    now = int(time.time() * 1000)
    try:
        await store.update_site(SITE, {"name": "فروشگاه کتاب", "departments": "فروش,پشتیبانی"})
        await store.save_canned(SITE, "salam", "سلام {name}، من {agent} هستم.")
        await store.add_webhook(
            SITE, "wh_fa1", "http://127.0.0.1:9/hook", "s" * 32, [], now, "سامانه مشتریان"
        )
        await store.issue_api_key(SITE, "سامانه سفارش‌ها", "write", now, "x")
    finally:
        await store.close()
    problems: list[str] = []
    ctx = await browser.new_context(**FA)  # type: ignore[arg-type]
    page = await ctx.new_page()
    watch(page, problems)
    base = f"{live.base_url}/admin"
    try:
        await page.goto(f"{live.base_url}/login")
        await page.get_by_label("ایمیل").fill("admin.fa@example.com")
        await page.get_by_label("گذرواژه").fill(PASSWORD)
        await page.get_by_role("button", name="ورود").click()
        await page.wait_for_url(re.compile(r"/agent"))

        text = await persian_page(page, f"{base}/sites", "سایت‌ها")
        assert "افزودن سایت" in text
        text = await persian_page(page, f"{base}/sites/{SITE}", "فروشگاه کتاب")
        assert "ساعات کاری هر بخش" in text and "کلیدهای رابط برنامه‌نویسی" in text
        assert "سه‌شنبه" in text and "هدف زمان نخستین پاسخ" in text
        IMG.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(IMG / "admin-fa.png"))

        # A refused save says why in Persian, naming the day in Persian.
        form = page.get_by_test_id("site-form")
        await form.get_by_label("دوشنبه").first.fill("nine to five")
        await form.get_by_test_id("save-site").click()
        errors = page.get_by_test_id("form-errors")
        await expect(errors).to_contain_text("دوشنبه: ساعت‌ها را به شکل")
        assert "write hours" not in await errors.inner_text()
        assert await page.get_attribute("html", "dir") == "rtl"

        await persian_page(page, f"{base}/agents", "کارشناسان")
        await persian_page(page, f"{base}/agents/{agent_id}", "نیکا")
        text = await persian_page(page, f"{base}/sites/{SITE}/canned", "پاسخ‌های آماده")
        assert "افزودن پاسخ آماده" in text
        text = await persian_page(page, f"{base}/sites/{SITE}/webhooks", "وب‌هوک‌ها")
        assert "تحویل‌شده" in text and "همهٔ انواع رویداد" in text
        await persian_page(page, f"{base}/sites/{SITE}/privacy", "حریم خصوصی")
        text = await persian_page(
            page, f"{base}/sites/{SITE}/privacy?visitor_id=nobody#person", "حریم خصوصی"
        )
        assert "کسی پیدا نشد." in text

        # A test mail, queued from the outbox in Persian.
        await page.goto(f"{base}/sites/{SITE}/outbox")
        await page.get_by_test_id("test-mail").get_by_label("گیرنده").fill("team@example.com")
        await page.get_by_role("button", name="گذاشتن ایمیل آزمایشی در صف").click()
        await expect(page.get_by_test_id("saved")).to_have_text(
            "ایمیل آزمایشی در صف ارسال قرار گرفت: در فهرست زیر آمده است."
        )
        text = await persian_page(page, f"{base}/sites/{SITE}/outbox", "صندوق خروجی")
        assert "آزمایشی" in text
        await page.get_by_test_id("mail-open").first.click()
        await page.wait_for_url(re.compile(r"/outbox/"))
        await persian_page(page, page.url, "")

        text = await persian_page(page, f"{base}/sites/{SITE}/audit", "گزارش رویدادها")
        assert "ورود" in text  # the admin's own sign-in, in the log
        await expect(page.get_by_test_id("audit-entry").first).to_be_visible()
        await persian_page(page, f"{base}/audit/sign-ins", "ورودهای ناموفق")
        assert problems == []
    finally:
        await ctx.close()
