"""The widget on a customer's page: one tag, hostile CSS, the page's API, keyboard, phone."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Browser, expect

from tests.browser.widget_helpers import (
    HOSTILE_CSS,
    online_agent,
    open_panel,
    panel,
    say,
    shop,
)

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


async def test_hostile_page_embeds_it_twice_and_chats(browser: Browser, live_server: Any) -> None:
    agent = await online_agent(live_server)
    problems: list[str] = []
    try:
        async with shop(
            browser,
            live_server,
            page={
                "head": f"<style>{HOSTILE_CSS}</style>",
                "attrs": 'data-site="demo" data-name="Ali" data-email="ali@example.com"',
                "times": 2,
            },
            problems=problems,
            viewport={"width": 1280, "height": 800},
        ) as s:
            page = s.page
            url = s.url
            frame = await panel(page)
            # Included twice, framed once; the page's CSS moved nothing.
            iframe = page.locator("iframe[data-chatserver]")
            box = await iframe.bounding_box()
            assert box is not None
            assert (box["width"], box["height"]) == (88, 88)
            assert (box["x"] + box["width"], box["y"] + box["height"]) == (1280, 800)
            launcher = await frame.get_by_test_id("launcher").bounding_box()
            assert launcher is not None and launcher["width"] == 56

            await frame.get_by_test_id("launcher").click()
            await expect(frame.get_by_test_id("panel")).to_be_visible()
            await expect(frame.get_by_test_id("composer")).to_be_focused()
            box = await iframe.bounding_box()
            assert box is not None and box["width"] == 416 and box["height"] == 780

            await say(frame, "Hello from a hostile page")
            assigned = await agent.expect("assigned")
            conv = assigned["conversation"]
            # data-name / data-email reached the agent; so did the host page's URL.
            assert (conv["visitor"]["name"], conv["visitor"]["email"]) == (
                "Ali",
                "ali@example.com",
            )
            assert conv["visitor"]["page"]["url"] == url
            assert conv["visitor"]["timezone"]
            await agent.expect("synced")
            await agent.send(
                {
                    "type": "message",
                    "conversation_id": conv["id"],
                    "client_id": "a1",
                    "text": "Hi! See https://example.com/help, <b>ok</b>?",
                }
            )
            reply = frame.locator('[data-testid="message"][data-from="agent"]')
            await expect(reply.get_by_test_id("message-text")).to_have_text(
                "Hi! See https://example.com/help, <b>ok</b>?"
            )
            # Links are clickable, markup stays text.
            link = reply.locator("a")
            await expect(link).to_have_attribute("href", "https://example.com/help")
            await expect(link).to_have_attribute("rel", "noopener noreferrer nofollow ugc")
            assert await reply.locator("b").count() == 0
            assert problems == []
    finally:
        await agent.close()


async def test_page_api_unread_badge_and_keyboard(browser: Browser, live_server: Any) -> None:
    agent = await online_agent(live_server)
    problems: list[str] = []
    try:
        async with shop(browser, live_server, problems=problems) as s:
            page = s.page
            frame = await panel(page)
            await page.evaluate(
                """() => {
                  window.seen = [];
                  for (const name of ["open", "close", "unread", "message"]) {
                    Chatserver.on(name, (detail) => window.seen.push([name, detail]));
                  }
                  Chatserver.on("open", () => { throw new Error("a page bug"); });
                }"""
            )
            await page.evaluate("Chatserver.open()")
            await expect(frame.get_by_test_id("panel")).to_be_visible()
            await page.evaluate("Chatserver.setUser({name: 'Reza', email: 'reza@example.com'})")
            await say(frame, "Where is my parcel?")
            conv = (await agent.expect("assigned"))["conversation"]
            assert conv["visitor"]["name"] == "Reza"
            await agent.expect("synced")

            # Keyboard: Tab stays in the panel; Escape closes and gives focus to the launcher.
            composer = frame.get_by_test_id("composer")
            await composer.focus()
            for _ in range(8):
                await page.keyboard.press("Tab")
                assert await frame.evaluate(
                    "document.activeElement !== document.body && document.hasFocus()"
                )
            await composer.press("Escape")
            await expect(frame.get_by_test_id("panel")).to_be_hidden()
            await expect(frame.get_by_test_id("launcher")).to_be_focused()
            await expect(frame.get_by_test_id("launcher")).to_have_attribute(
                "aria-expanded", "false"
            )

            # Closed: an agent's messages count as unread on the launcher and for the page.
            for n in (1, 2):
                await agent.send(
                    {
                        "type": "message",
                        "conversation_id": conv["id"],
                        "client_id": f"a{n}",
                        "text": f"Answer {n}",
                    }
                )
            badge = frame.get_by_test_id("unread")
            await expect(badge).to_have_text("2")
            await expect(frame.get_by_test_id("launcher")).to_have_attribute(
                "aria-label", "Open chat, 2 unread"
            )
            await page.evaluate("Chatserver.toggle()")
            await expect(badge).to_be_hidden()
            # The agent learns the visitor read them.
            read = await agent.expect("read")
            assert read["from"] == "visitor" and read["conversation_id"] == conv["id"]
            await page.evaluate("Chatserver.close()")
            await expect(frame.get_by_test_id("panel")).to_be_hidden()
            seen = await page.evaluate("window.seen")
            assert ["open", None] in seen and ["close", None] in seen
            assert ["unread", 2] in seen and seen[-1] == ["close", None]
            assert ["message", {"from": "agent", "text": "Answer 2"}] in seen
            # The page's own listener threw: logged, nothing else broke.
            assert problems == []
    finally:
        await agent.close()


async def test_phone_layout_fills_the_screen_without_motion(
    browser: Browser, live_server: Any
) -> None:
    agent = await online_agent(live_server)
    try:
        async with shop(
            browser,
            live_server,
            viewport={"width": 360, "height": 740},
            is_mobile=True,
            has_touch=True,
            reduced_motion="reduce",
        ) as s:
            page = s.page
            frame = await open_panel(page)
            box = await page.locator("iframe[data-chatserver]").bounding_box()
            assert box == {"x": 0, "y": 0, "width": 360, "height": 740}
            # Reduced motion: the panel appears without animating.
            durations = await frame.evaluate(
                "getComputedStyle(document.querySelector('.panel')).transitionDuration"
            )
            assert set(durations.split(", ")) == {"0s"}
            # Touch targets are at least 44 px; the launcher hides behind the open panel.
            for testid in ("close", "send"):
                target = await frame.get_by_test_id(testid).bounding_box()
                assert target is not None
                assert target["width"] >= 44 and target["height"] >= 44
            await expect(frame.get_by_test_id("launcher")).to_be_hidden()
            await say(frame, "On my phone")
            await frame.get_by_test_id("close").click()
            await expect(frame.get_by_test_id("launcher")).to_be_visible()
            # The frame shows its launcher first, then asks the loader to shrink it: wait for
            # the loader's side (the launcher alone said nothing about it).
            await page.wait_for_function(
                "document.querySelector('iframe[data-chatserver]')"
                ".getBoundingClientRect().width === 88"
            )
            box = await page.locator("iframe[data-chatserver]").bounding_box()
            assert box is not None and box["width"] == 88
    finally:
        await agent.close()
