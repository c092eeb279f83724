"""Identity verification end to end in Chromium: a shop page passes an identity its backend
signed to ``Chatserver.setUser``, and the agent console marks it verified (and a
self-declared visitor plainly)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from chatserver import identity
from chatserver.store import Store
from tests.browser.console_support import PASSWORD, chat, log_in, visitor_writes, watch
from tests.browser.widget_helpers import open_panel, say, shop

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


def backend_identity(secret: str, user_id: str, name: str, email: str) -> dict[str, Any]:
    """What the shop's backend renders into its page (docs/security.md, the Python snippet)."""
    issued_at = int(time.time())
    signature = identity.sign(secret, "demo", user_id, name, email, issued_at)
    return {
        "id": user_id,
        "name": name,
        "email": email,
        "issued_at": issued_at,
        "signature": signature,
    }


async def test_a_signed_set_user_shows_verified_in_the_console(
    browser: Browser, live_server: Any
) -> None:
    store = Store.from_url(live_server.redis_url)
    secret, _ = await store.ensure_identity_secret("demo", int(time.time() * 1000))
    await asyncio.to_thread(live_server.add_agent, "sara@example.com", PASSWORD, "Sara")
    who = json.dumps(backend_identity(secret, "u-42", "Ali Rezaei", "ali@example.com"))
    # The page's own script, once the widget has loaded (an async script delays "load").
    script = f'addEventListener("load", () => Chatserver.setUser({who}))'
    body = f"<h1>My orders</h1><script>{script}</script>"
    problems: list[str] = []
    agent_ctx = await browser.new_context()
    try:
        console = await agent_ctx.new_page()
        watch(console, problems)
        await log_in(console, live_server.base_url, "sara@example.com")
        async with shop(browser, live_server, {"body": body}, problems) as s:
            frame = await open_panel(s.page)
            await say(frame, "Where is order 4521?")
            visitor_id = await store.r.hget(store.k.verified_users("demo"), "u-42")
            assert visitor_id, "the signed identity was not stored"
            conv_id = (await store.load_visitor("demo", visitor_id) or {})["open_conv"]

            # Someone else declares a name of their own: shown plainly.
            other, other_conv = await visitor_writes(
                live_server, "demo", "Hi", name="Eve", email="eve@example.com"
            )

            await chat(console, conv_id).click()
            details = console.get_by_test_id("visitor-details")
            await expect(details).to_contain_text("Ali Rezaei")
            await expect(details.get_by_test_id("verified")).to_have_count(2)  # name and email
            await expect(details).to_contain_text("u-42")
            await expect(details.get_by_test_id("verified").first).to_have_attribute(
                "title", "Verified by the site: user u-42"
            )

            await chat(console, other_conv).click()
            await expect(details).to_contain_text("Eve")
            await expect(details).to_contain_text("eve@example.com")
            await expect(details.get_by_test_id("verified")).to_have_count(0)
            await other.close()
        assert problems == []
    finally:
        await agent_ctx.close()
        await store.close()
