"""The supervisors' dashboard in real Chromium: live over its socket, no reload.

A visitor starts a chat over the real visitor socket while the dashboard is open; the queue
count and the wait change on the page by themselves. The supervisor has no capacity, so the
chat stays queued and its wait keeps growing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.async_api import Browser, expect

from tests.browser.console_support import (
    add_agent,
    console_server,
    log_in,
    visitor_writes,
    watch,
)
from tests.servers import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with console_server(tmp_path_factory.mktemp("dashboard")) as server:
        yield server


async def test_the_queue_and_the_wait_change_live(browser: Browser, live: LiveServer) -> None:
    await add_agent(live, "mina@example.com", "Mina", "dash", role="supervisor", capacity=0)
    problems: list[str] = []
    ctx = await browser.new_context()
    page = await ctx.new_page()
    watch(page, problems)
    try:
        await log_in(page, live.base_url, "mina@example.com")
        await page.get_by_test_id("dashboard-link").click()
        await expect(page.get_by_test_id("live")).to_have_text("Live")
        await expect(page.get_by_test_id("queue-count")).to_have_text("0")
        await expect(page.get_by_test_id("longest-wait")).to_have_text("–")
        url = page.url

        visitor, conv_id = await visitor_writes(live, "dash", "Where is my parcel?")
        await expect(page.get_by_test_id("queue-count")).to_have_text("1")
        wait = page.get_by_test_id("longest-wait")
        await expect(wait).to_have_text(re.compile(r"^\d+ s$"))
        first = await wait.text_content()
        await expect(wait).not_to_have_text(first or "")  # it keeps counting
        unresolved = page.get_by_test_id("unresolved")
        await expect(unresolved.locator("tr")).to_have_count(1)
        await expect(page.get_by_test_id("unresolved-count")).to_have_text("1")
        await expect(page.get_by_test_id("chart-hourly").locator("rect.bar")).to_have_count(24)

        # A second visitor: the count moves again, still without a reload.
        other, _ = await visitor_writes(live, "dash", "hello?")
        await expect(page.get_by_test_id("queue-count")).to_have_text("2")
        assert page.url == url

        # Search finds the first chat by a word of its message and shows its transcript.
        await page.locator('[name="text"]').fill("PARCEL")
        await page.get_by_test_id("search").click()
        result = page.get_by_test_id("search-result")
        await expect(result).to_have_count(1)
        await result.click()
        await expect(page.get_by_test_id("transcript-messages")).to_contain_text(
            "Where is my parcel?"
        )
        await visitor.close()
        await other.close()
        assert conv_id
        assert problems == []
    finally:
        await ctx.close()


async def test_agents_cannot_open_the_dashboard(browser: Browser, live: LiveServer) -> None:
    await add_agent(live, "sam@example.com", "Sam", "dash2")
    ctx = await browser.new_context()
    page = await ctx.new_page()
    try:
        await log_in(page, live.base_url, "sam@example.com")
        await expect(page.get_by_test_id("dashboard-link")).to_have_count(0)
        response = await page.goto(f"{live.base_url}/dashboard")
        assert response is not None and response.status == 403
        api = await page.request.get(f"{live.base_url}/api/metrics/dashboard")
        assert api.status == 403
    finally:
        await ctx.close()
