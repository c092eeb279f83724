"""E-mail in the console, in Chromium: a visitor who left a message in the offline form is
marked "waiting for an e-mail reply" in the queue and, once taken, in the chat list and the
chat's header until the agent writes; the Outbox page shows the team's alert, its HTML only
in a sandboxed frame."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
import redis
from playwright.async_api import Browser, expect

from chatserver.keys import Keys
from tests.browser.console_support import add_agent, chat, console_server, log_in, visitor_writes
from tests.servers import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]
K = Keys()
MARK = "waiting for an e-mail reply"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with console_server(tmp_path_factory.mktemp("mail-console")) as server:
        yield server


async def test_the_waiting_mark_and_the_outbox(browser: Browser, live: LiveServer) -> None:
    r = redis.Redis.from_url(live.redis_url, decode_responses=True)
    r.hset(
        K.site("mailsite"),
        mapping={
            "name": "Shop",
            "allowed_origins": "*",
            "team_email": "team@shop.test",
            "queue_timeout_s": 1,
        },
    )
    r.sadd(K.sites(), "mailsite")
    r.close()
    await add_agent(live, "boss@mail.test", "Boss", "mailsite", role="admin")
    v, conv_id = await visitor_writes(live, "mailsite", "Please call me back")
    await v.expect("message", lambda f: f.get("event") == "queue_timeout", timeout=15)
    await v.send({"type": "identify", "email": "mina@example.com"})
    await v.close()

    ctx = await browser.new_context()
    try:
        page = await ctx.new_page()
        await log_in(page, live.base_url, "boss@mail.test")
        item = page.locator(f'[data-testid="queue-item"][data-id="{conv_id}"]')
        await expect(item.get_by_test_id("awaiting-email")).to_have_text(MARK)
        await item.get_by_test_id("take").click()
        await expect(chat(page, conv_id).get_by_test_id("awaiting-email")).to_have_text(MARK)
        await chat(page, conv_id).click()
        await expect(page.get_by_test_id("thread-status")).to_contain_text(MARK)
        # The agent answers: no longer waiting.
        await page.get_by_test_id("composer").fill("We will call you at 5.")
        await page.get_by_test_id("composer").press("Enter")
        await expect(page.get_by_test_id("thread-status")).not_to_contain_text(MARK)
        await expect(chat(page, conv_id).get_by_test_id("awaiting-email")).to_have_count(0)

        await page.goto(f"{live.base_url}/admin/sites/mailsite/outbox")
        row = page.get_by_test_id("outbox-row").filter(has_text="team@shop.test")
        await expect(row.get_by_test_id("mail-status")).to_have_text("outbox")
        await row.get_by_test_id("mail-open").click()
        frame_el = page.get_by_test_id("mail-html")
        await expect(frame_el).to_have_attribute("sandbox", "")
        body = page.frame_locator('[data-testid="mail-html"]').locator("body")
        await expect(body).to_contain_text("Please call me back")
        await expect(page.get_by_test_id("mail-text")).to_contain_text(f"/agent#watch={conv_id}")
    finally:
        await ctx.close()
    await asyncio.sleep(0)
