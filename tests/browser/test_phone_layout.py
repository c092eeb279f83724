"""The console, the dashboard and the admin pages on a 390 px phone (issue 20's "overflows a
390 px phone"): nothing is wider than the screen, a long address in a message included, and
the open chat's composer is on screen."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.async_api import Browser, expect

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

PHONE = {"width": 390, "height": 844}
LONG = "سفارشم کجاست؟ https://shop.example.com/orders/123456789/details?tracking=abcdefghijklmnop"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with console_server(tmp_path_factory.mktemp("phone")) as server:
        yield server


async def test_nothing_is_wider_than_a_phone(browser: Browser, live: LiveServer) -> None:
    await add_agent(live, "boss@example.com", "Mina", "phone", role="admin")
    problems: list[str] = []
    ctx = await browser.new_context(viewport=PHONE)
    page = await ctx.new_page()
    watch(page, problems)
    try:
        await log_in(page, live.base_url, "boss@example.com")
        v, conv = await visitor_writes(live, "phone", LONG, name="علی رضایی")
        await page.get_by_test_id("agent-status").click()  # online: the chat comes to her
        await chat(page, conv).click()
        await expect(page.get_by_test_id("thread").get_by_test_id("message-text")).to_contain_text(
            "shop.example.com"
        )
        await expect(page.get_by_test_id("composer")).to_be_in_viewport()
        for path in ("/agent", "/dashboard", "/admin/sites/phone", "/account", "/admin/audit"):
            if path != "/agent":
                await page.goto(live.base_url + path)
                await page.wait_for_load_state()
            width = await page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= PHONE["width"], (path, width)
        assert problems == []
        await v.close()
    finally:
        await ctx.close()
