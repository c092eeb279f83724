"""A whole chat clicked through in a real browser: visitor page and agent console side by side."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

AGENT_EMAIL = "sara@example.com"
AGENT_PASSWORD = "correct-horse-battery"
PERSIAN = "سلام، سفارشم کجاست؟"
SCRIPT = "<script>alert(1)</script>"


def watch(page: Page, problems: list[str]) -> None:
    """Collect what must never happen: script errors and dialogs (an alert() would be XSS)."""
    page.on("pageerror", lambda exc: problems.append(f"{page.url}: {exc}"))

    async def on_dialog(dialog: Any) -> None:
        problems.append(f"dialog on {page.url}: {dialog.message}")
        await dialog.dismiss()

    page.on("dialog", on_dialog)


async def log_in(page: Page, base_url: str) -> None:
    await page.goto(f"{base_url}/login")
    await page.get_by_label("Email").fill(AGENT_EMAIL)
    await page.get_by_label("Password").fill(AGENT_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_test_id("agent-status")).to_have_text("Online")


async def visitor_says(page: Page, text: str) -> None:
    composer = page.get_by_test_id("composer")
    await composer.fill(text)
    await composer.press("Enter")
    await expect(composer).to_have_value("")
    mine = page.get_by_test_id("message").filter(has_text=text)
    # "read" as soon as the agent has the conversation open.
    await expect(mine.get_by_test_id("message-state")).to_have_text(re.compile("^(sent|read)$"))


async def test_whole_chat_in_the_browser(browser: Browser, live_server: Any) -> None:
    base = live_server.base_url
    # add_agent is synchronous (it may even run its own event loop): keep it off this loop.
    await asyncio.to_thread(live_server.add_agent, AGENT_EMAIL, AGENT_PASSWORD, "Sara", capacity=3)
    problems: list[str] = []
    agent_ctx = await browser.new_context()
    visitor_ctx = await browser.new_context(locale="fa-IR")
    try:
        agent = await agent_ctx.new_page()
        watch(agent, problems)
        await log_in(agent, base)

        visitor = await visitor_ctx.new_page()
        watch(visitor, problems)
        # The browser speaks Persian; the page asks for the English panel.
        await visitor.goto(f"{base}/chat?site=demo&locale=en")
        await expect(visitor.get_by_test_id("conversation-status")).not_to_have_text("Connecting…")
        await visitor_says(visitor, "Hello, where is my order?")

        # Sara is online with free capacity, so routing should assign the chat to her; if it
        # waits in the queue instead, she takes it by hand.
        conversation = agent.get_by_test_id("conversation")
        take = agent.get_by_test_id("take")
        await expect(conversation.or_(take).first).to_be_visible()
        if await conversation.count() == 0:
            await take.first.click()
        await expect(conversation).to_have_count(1)
        await conversation.click()
        thread = agent.get_by_test_id("thread")
        await expect(thread.get_by_test_id("message-text")).to_have_text(
            ["Hello, where is my order?"]
        )
        await expect(agent.get_by_test_id("visitor-details")).to_contain_text("/chat?site=demo")

        # Persian renders right to left on both sides.
        await visitor_says(visitor, PERSIAN)
        bubble = visitor.get_by_test_id("message-text").filter(has_text=PERSIAN)
        assert await bubble.evaluate("el => getComputedStyle(el).direction") == "rtl"
        agent_bubble = thread.get_by_test_id("message-text").filter(has_text=PERSIAN)
        await expect(agent_bubble).to_be_visible()
        assert await agent_bubble.evaluate("el => getComputedStyle(el).direction") == "rtl"

        # Markup from a visitor is text on the agent's screen, never markup.
        await visitor_says(visitor, SCRIPT)
        await expect(thread.get_by_test_id("message-text").filter(has_text=SCRIPT)).to_have_text(
            SCRIPT
        )
        assert await thread.locator("script").count() == 0

        # The agent sees the visitor typing, with a preview.
        await visitor.get_by_test_id("composer").fill("One more thing")
        await expect(agent.get_by_test_id("typing")).to_have_text(
            "Visitor is typing: One more thing"
        )
        await visitor.get_by_test_id("composer").fill("")

        # The agent replies; the visitor sees the reply and who joined.
        agent_composer = agent.get_by_test_id("composer")
        await agent_composer.fill("It ships today.")
        await agent_composer.press("Enter")
        reply = thread.get_by_test_id("message").filter(has_text="It ships today.")
        # Stored at least: the visitor's open widget may have read it already ("seen").
        await expect(reply.get_by_test_id("message-state")).to_have_text(
            re.compile("^(sent|seen)$")
        )
        await expect(visitor.locator('[data-testid="message"][data-from="agent"]')).to_contain_text(
            "It ships today."
        )
        await expect(visitor.get_by_text("Sara joined the chat").first).to_be_visible()

        # Every message shows exactly once on both sides, in order, also after a reload that
        # resumes from the saved cursor.
        expected = ["Hello, where is my order?", PERSIAN, SCRIPT, "It ships today."]
        await expect(visitor.get_by_test_id("message-text")).to_have_text(expected)
        await expect(thread.get_by_test_id("message-text")).to_have_text(expected)
        await visitor.reload()
        await expect(visitor.get_by_test_id("conversation-status")).to_contain_text("Sara")
        await expect(visitor.get_by_test_id("message-text")).to_have_text(expected)

        # The agent resolves; the visitor is told.
        await agent.get_by_test_id("resolve").click()
        await expect(visitor.get_by_test_id("conversation-status")).to_contain_text("resolved")
        await expect(conversation).to_contain_text("Resolved")
        await expect(agent.get_by_test_id("composer")).to_be_disabled()

        # Writing again starts a new chat, which reaches the agent as a new conversation.
        await visitor_says(visitor, "Sorry, one more question")
        await expect(visitor.get_by_test_id("conversation-status")).not_to_contain_text("resolved")
        fresh = agent.get_by_test_id("conversation").filter(has_not_text="Resolved")
        await expect(fresh.or_(take).first).to_be_visible()
        if await fresh.count() == 0:
            await take.first.click()
        await expect(fresh).to_have_count(1)

        assert problems == []
        # Nothing the pages did may have crashed the server (when the fixture can tell).
        for node in getattr(live_server, "nodes", []):
            assert node.crashes() == []
    finally:
        await visitor_ctx.close()
        await agent_ctx.close()
