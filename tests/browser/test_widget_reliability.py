"""What the visitor must never see: a lost or doubled message, across a server restart and
messages typed while the server was away."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from playwright.async_api import Browser, Frame, expect

from chatserver.store import Store
from tests import client as cl
from tests.browser.widget_helpers import online_agent, open_panel, say, shop, start_chat, texts

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

# The widget's reconnect backs off (with jitter) while the server is away.
AFTER_RESTART_MS = 30_000


async def reconnect_agent(live: Any, conv_id: str, cursor: str) -> cl.Client:
    token = await asyncio.to_thread(live.login, "sara@example.com")
    agent, _ = await cl.agent(live.ws_url, token, cursors={conv_id: cursor})
    await agent.expect("synced", lambda f: f["conversation_id"] == conv_id)
    return agent


def last_id(frames: list[dict[str, Any]], conv_id: str) -> str:
    return [f for f in frames if f.get("conversation_id") == conv_id and "id" in f][-1]["id"]


def assert_each_once(frames: list[dict[str, Any]], conv_id: str) -> None:
    ids = Counter(
        f["id"] for f in frames if f.get("type") == "message" and f["conversation_id"] == conv_id
    )
    assert [i for i, n in ids.items() if n > 1] == []


async def until(agent: cl.Client, conv_id: str, expected: list[str]) -> None:
    """Wait until the agent's frames hold ``expected`` (without consuming them, as
    ``Client.expect`` would, so that every frame stays counted)."""
    for _ in range(AFTER_RESTART_MS // 50):
        if texts(agent.frames, conv_id) == expected:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"agent saw {texts(agent.frames, conv_id)}, expected {expected}")


async def stored_texts(live: Any, conv_id: str) -> list[str]:
    store = Store.from_url(live.redis_url)
    try:
        return [
            m.text for m in await store.read_messages("demo", conv_id, None) if m.kind != "system"
        ]
    finally:
        await store.close()


async def visitor_sees(frame: Frame, expected: list[str]) -> None:
    await expect(frame.get_by_test_id("message-text")).to_have_text(
        expected, timeout=AFTER_RESTART_MS
    )


async def test_server_restart_mid_chat(browser: Browser, live_server: Any) -> None:
    agent = await online_agent(live_server)
    node = live_server.nodes[0]
    problems: list[str] = []
    try:
        async with shop(browser, live_server, problems=problems) as s:
            page = s.page
            frame = await open_panel(page)
            conv_id = await start_chat(frame, agent, "one")
            await agent.send(
                {"type": "message", "conversation_id": conv_id, "client_id": "a2", "text": "two"}
            )
            await visitor_sees(frame, ["one", "two"])
            before = list(agent.frames)

            await asyncio.to_thread(node.stop)  # SIGTERM: the server says "reconnect" and goes
            await expect(frame.get_by_test_id("status-line")).not_to_be_empty()
            await say(frame, "three, while the server is down", state="sending…")
            await asyncio.to_thread(node.start)  # same port: the widget finds it again

            agent2 = await reconnect_agent(live_server, conv_id, last_id(before, conv_id))
            await until(agent2, conv_id, ["three, while the server is down"])
            await agent2.send(
                {"type": "message", "conversation_id": conv_id, "client_id": "a4", "text": "four"}
            )
            expected = ["one", "two", "three, while the server is down", "four"]
            await visitor_sees(frame, expected)
            mine = frame.get_by_test_id("message").filter(has_text="three")
            await expect(mine.get_by_test_id("message-state")).not_to_have_text("sending…")
            await expect(frame.get_by_test_id("status-line")).to_be_empty()

            # The agent, over both its connections, saw each message once and in order.
            await until(agent2, conv_id, expected[2:])
            seen = before + agent2.frames
            assert texts(seen, conv_id) == expected
            assert_each_once(seen, conv_id)
            assert await stored_texts(live_server, conv_id) == expected
            assert problems == []
            await agent2.close()
    finally:
        await agent.close()


async def test_messages_typed_offline_are_sent_once(browser: Browser, live_server: Any) -> None:
    agent = await online_agent(live_server)
    node = live_server.nodes[0]
    try:
        async with shop(browser, live_server) as s:
            page = s.page
            url = s.url
            frame = await open_panel(page)
            conv_id = await start_chat(frame, agent, "before")
            before = list(agent.frames)

            await asyncio.to_thread(node.kill)  # gone without a word
            offline = ["typed offline 1", "typed offline 2"]
            for text in offline:
                await say(frame, text, state="sending…")
            # Kept in the visitor's storage (the page's, when the browser refuses the frame
            # its own), so closing the tab loses nothing.
            kept = await page.evaluate(
                "JSON.parse(localStorage.getItem('chatserver:cs:outbox:demo')).map(i => i.text)"
            )
            assert kept == offline
            await page.close()

            await asyncio.to_thread(node.start)
            page = await s.ctx.new_page()
            await page.goto(url)
            frame = await open_panel(page)
            await visitor_sees(frame, ["before", *offline])
            for text in offline:
                mine = frame.get_by_test_id("message").filter(has_text=text)
                await expect(mine.get_by_test_id("message-state")).to_have_text("sent")

            agent2 = await reconnect_agent(live_server, conv_id, last_id(before, conv_id))
            await until(agent2, conv_id, offline)
            seen = before + agent2.frames
            assert texts(seen, conv_id) == ["before", *offline]
            assert_each_once(seen, conv_id)
            assert await stored_texts(live_server, conv_id) == ["before", *offline]
            await agent2.close()
    finally:
        await agent.close()
