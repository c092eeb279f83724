"""An agent's reply while the customer's page is out of sight: the page's title is marked with
the unread count ("(1) Shop") and the widget chimes, within the browser's autoplay rules (the
AudioContext is made on the visitor's first key press in the panel); coming back restores the
title. data-sound="off" keeps the mark and drops the chime.

The chime is observed through an AudioContext spy every frame gets before its own scripts
(add_init_script): it counts the tones made, and the widget itself exposes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Browser, Frame, Page, expect

from tests.browser.widget_helpers import online_agent, open_panel, shop, start_chat

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

SPY = """(() => {
  window.__tones = 0;
  const Real = window.AudioContext;
  if (!Real) return;
  window.AudioContext = class extends Real {
    createOscillator() { window.__tones += 1; return super.createOscillator(); }
  };
})();"""


async def set_hidden(page: Page, hidden: bool) -> None:
    """The host page as the browser reports a tab in the background (or back in front)."""
    await page.evaluate(
        """(hidden) => {
          const state = hidden ? "hidden" : "visible";
          for (const [name, value] of [["hidden", hidden], ["visibilityState", state]]) {
            Object.defineProperty(document, name, { configurable: true, get: () => value });
          }
          document.dispatchEvent(new Event("visibilitychange"));
        }""",
        hidden,
    )


async def tones(frame: Frame) -> int:
    count: int = await frame.evaluate("window.__tones")
    return count


@pytest.mark.parametrize("sound", ["on", "off"])
async def test_a_reply_out_of_sight_marks_the_title_and_chimes(
    browser: Browser, live_server: Any, sound: str
) -> None:
    agent = await online_agent(live_server)
    problems: list[str] = []
    attrs = 'data-site="demo"' + (' data-sound="off"' if sound == "off" else "")
    try:
        async with shop(browser, live_server, page={"attrs": attrs}, problems=problems) as s:
            await s.ctx.add_init_script(SPY)
            await s.page.reload()
            frame = await open_panel(s.page)
            # Typing is the gesture that lets the panel make sound.
            conv_id = await start_chat(frame, agent, "Is my order shipped?")
            await expect(s.page).to_have_title("Shop")

            # In sight, a reply marks nothing.
            await agent.send(
                {
                    "type": "message",
                    "conversation_id": conv_id,
                    "client_id": "a0",
                    "text": "Looking now",
                }
            )
            await expect(frame.get_by_test_id("message").last).to_contain_text("Looking now")
            assert await s.page.title() == "Shop"

            await set_hidden(s.page, True)
            await agent.send(
                {
                    "type": "message",
                    "conversation_id": conv_id,
                    "client_id": "a1",
                    "text": "Yes, it left today",
                }
            )
            await expect(s.page).to_have_title("(1) Shop")
            await agent.send(
                {
                    "type": "message",
                    "conversation_id": conv_id,
                    "client_id": "a2",
                    "text": "Tracking: 1234",
                }
            )
            await expect(s.page).to_have_title("(2) Shop")
            if sound == "on":
                await frame.wait_for_function("window.__tones === 2")
            else:
                # The page's close comes to the frame after any chime the loader asked for.
                await s.page.evaluate("Chatserver.close()")
                await expect(frame.locator("body")).not_to_have_class("open")
                assert await tones(frame) == 0

            # Back in front: the title is the page's own again.
            await set_hidden(s.page, False)
            await expect(s.page).to_have_title("Shop")
    finally:
        await agent.close()
    assert problems == []
