"""The widget's "Email transcript" button (widget/transcript.js, loaded when the panel opens):
it asks for an address when the visitor left none, requests the transcript and says so; the
mail is then in the server's outbox (no SMTP server in these tests)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from chatserver.store import Store
from tests.browser.widget_helpers import online_agent, open_panel, say, shop

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

STRINGS = json.loads(Path("widget/i18n.json").read_text(encoding="utf-8"))


async def outbox(live: Any) -> list[dict[str, str]]:
    store = Store.from_url(live.redis_url)
    try:
        return await store.mail_log("demo")
    finally:
        await store.close()


@pytest.mark.parametrize("locale", ["en", "fa"])
async def test_the_button_requests_the_transcript(
    browser: Browser, live_server: Any, locale: str
) -> None:
    s = STRINGS[locale]
    agent = await online_agent(live_server)
    problems: list[str] = []
    async with shop(
        browser,
        live_server,
        page={"attrs": f'data-site="demo" data-locale="{locale}"'},
        problems=problems,
    ) as sh:
        frame = await open_panel(sh.page)
        button = frame.get_by_test_id("transcript")
        await expect(button).to_be_hidden()  # no conversation yet
        await say(frame, "Where is order 42?", s["sent"])
        conv_id = (await agent.expect("assigned"))["conversation_id"]
        await expect(button).to_have_attribute("aria-label", s["transcript_button"])
        await button.click()
        form = frame.get_by_test_id("transcript-email")
        await expect(frame.get_by_test_id("transcript-card")).to_contain_text(s["transcript_ask"])
        await form.locator("input").fill("reza@example.com")
        await form.get_by_role("button").click()
        sent = s["transcript_sent"].replace("{email}", "reza@example.com")
        await expect(frame.get_by_test_id("transcript-sent")).to_have_text(sent)
        for _ in range(100):
            mails = [m for m in await outbox(live_server) if m.get("kind") == "transcript"]
            if mails:
                break
            await asyncio.sleep(0.05)
        assert [(m["to"], m["conv"], m["lang"]) for m in mails] == [
            ("reza@example.com", conv_id, locale)
        ]
        # The address is remembered: the next click asks for none.
        await button.click()
        await expect(frame.get_by_test_id("transcript-email")).to_have_count(0)
        await expect(frame.get_by_test_id("transcript-sent")).to_be_visible()
        for _ in range(100):
            if len([m for m in await outbox(live_server) if m.get("kind") == "transcript"]) == 2:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the second request queued no mail")
    assert not problems, problems
    await agent.close()
