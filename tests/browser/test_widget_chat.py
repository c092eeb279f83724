"""Chats through the embedded widget, in Chromium, with an agent on the protocol client."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from chatserver.store import Store
from tests import client as cl
from tests.browser.widget_helpers import online_agent, open_panel, panel, say, shop, start_chat

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

PERSIAN = "سلام، سفارشم کجاست؟"
PERSIAN_DIGITS = re.compile("[۰-۹]")


async def agent_message(agent: cl.Client, conv_id: str, client_id: str, text: str) -> None:
    await agent.send(
        {"type": "message", "conversation_id": conv_id, "client_id": client_id, "text": text}
    )
    await agent.expect("ack", lambda f: f["client_id"] == client_id)


async def test_queue_join_typing_read_and_rating(browser: Browser, live_server: Any) -> None:
    # Sara has room for one chat and someone else holds it: the widget's visitor queues.
    agent = await online_agent(live_server, capacity=1)
    other, _ = await cl.visitor(live_server.ws_url)
    await other.send({"type": "message", "client_id": "o1", "text": "I was first"})
    first = (await agent.expect("assigned"))["conversation_id"]
    problems: list[str] = []
    try:
        async with shop(browser, live_server, problems=problems) as s:
            page = s.page
            frame = await open_panel(page)
            await expect(frame.get_by_test_id("greeting")).to_contain_text("How can we help")
            await say(frame, "Do you ship to Tabriz?")
            queue = frame.get_by_test_id("queue")
            await expect(queue).to_contain_text("We got your message.")
            await expect(queue.get_by_test_id("queue-position")).to_contain_text(
                "You're number 1 in the queue"
            )
            await expect(frame.get_by_test_id("conversation-status")).to_have_text(
                "Waiting for an agent…"
            )

            # Sara finishes the other chat and is routed to ours.
            await agent.send({"type": "resolve", "conversation_id": first})
            conv_id = (await agent.expect("assigned", lambda f: f["conversation_id"] != first))[
                "conversation_id"
            ]
            await expect(frame.get_by_test_id("system-message").last).to_have_text(
                "Sara joined the chat"
            )
            await expect(frame.get_by_test_id("conversation-status")).to_have_text(
                "You're chatting with Sara"
            )
            await expect(queue).to_be_hidden()

            await agent.send({"type": "typing", "conversation_id": conv_id, "state": True})
            await expect(frame.get_by_test_id("typing")).to_have_text("Sara is typing…")
            mine = await agent.expect(
                "message", lambda f: f["from"] == "visitor" and f["conversation_id"] == conv_id
            )
            await agent_message(agent, conv_id, "a1", "Yes, in two days.")
            await expect(frame.get_by_test_id("typing")).to_be_hidden()
            await agent.send({"type": "read", "conversation_id": conv_id, "id": mine["id"]})
            own = frame.get_by_test_id("message").filter(has_text="Do you ship to Tabriz?")
            await expect(own.get_by_test_id("message-state")).to_have_text("read")
            await say(frame, "Great, thanks")

            # Resolved: the visitor is asked for a rating, which reaches the server.
            await agent.send({"type": "resolve", "conversation_id": conv_id})
            await expect(frame.get_by_test_id("conversation-status")).to_contain_text("resolved")
            rating = frame.get_by_test_id("rating")
            await expect(rating).to_be_visible()
            await rating.get_by_test_id("rating-submit").click()  # no score yet: nothing sent
            await rating.get_by_title("4 of 5").click()  # the fourth star
            await expect(rating.get_by_label("4 of 5")).to_be_checked()
            await rating.get_by_role("textbox").fill("Quick and kind")
            await rating.get_by_test_id("rating-submit").click()
            await expect(frame.get_by_test_id("rating-thanks")).to_be_visible()
            rated = await agent.expect("message", lambda f: f.get("event") == "rated")
            assert rated["text"] == "Rated 4/5: Quick and kind"
            await expect(frame.get_by_test_id("system-message").last).to_have_text(
                "You rated this chat 4 of 5"
            )
            store = Store.from_url(live_server.redis_url)
            try:
                conv = await store.get_conversation("demo", conv_id) or {}
            finally:
                await store.close()
            assert (conv["rating"], conv["rating_comment"]) == ("4", "Quick and kind")

            # Writing again starts a new chat; the rating card has done its job.
            await say(frame, "One more question")
            await expect(rating).to_be_hidden()
            assert problems == []
    finally:
        await agent.close()
        await other.close()


async def test_reload_and_second_tab_show_the_same_conversation(
    browser: Browser, live_server: Any
) -> None:
    agent = await online_agent(live_server)
    try:
        async with shop(browser, live_server) as s:
            page = s.page
            url = s.url
            frame = await open_panel(page)
            conv_id = await start_chat(frame, agent, "First question")
            await agent_message(agent, conv_id, "a1", "First answer")
            await expect(frame.get_by_test_id("message-text")).to_have_text(
                ["First question", "First answer"]
            )

            # The panel was open: after a reload it is open again, on the same conversation.
            await page.reload()
            frame = await panel(page)
            await expect(frame.get_by_test_id("panel")).to_be_visible()
            await expect(frame.get_by_test_id("conversation-status")).to_have_text(
                "You're chatting with Sara"
            )
            await expect(frame.get_by_test_id("message-text")).to_have_text(
                ["First question", "First answer"]
            )

            tab2 = await s.ctx.new_page()
            await tab2.goto(url)
            frame2 = await open_panel(tab2)
            await expect(frame2.get_by_test_id("message-text")).to_have_text(
                ["First question", "First answer"]
            )
            await say(frame2, "Written in the second tab")
            await agent_message(agent, conv_id, "a2", "Seen in both")
            expected = ["First question", "First answer", "Written in the second tab"]
            expected.append("Seen in both")
            for f in (frame, frame2):
                await expect(f.get_by_test_id("message-text")).to_have_text(expected)
    finally:
        await agent.close()


async def test_persian_conversation_is_right_to_left(browser: Browser, live_server: Any) -> None:
    agent = await online_agent(live_server)
    # A Persian page: no locale attribute, the page's lang decides.
    persian = {"lang": "fa"}
    try:
        async with shop(
            browser, live_server, persian, viewport={"width": 1280, "height": 720}
        ) as s:
            page = s.page
            frame = await panel(page)
            box = await page.locator("iframe[data-chatserver]").bounding_box()
            assert box is not None and box["x"] == 0  # the launcher sits bottom-left
            await frame.get_by_test_id("launcher").click()
            assert await frame.evaluate("document.documentElement.dir") == "rtl"
            await expect(frame.get_by_test_id("conversation-status")).to_have_text(
                "معمولاً در چند دقیقه پاسخ می‌دهیم"
            )
            await say(frame, PERSIAN, state="ارسال شد")
            conv_id = (await agent.expect("assigned"))["conversation_id"]
            await agent_message(agent, conv_id, "a1", "Your order ships today.")
            await expect(frame.get_by_test_id("system-message")).to_have_text("Sara به گفتگو پیوست")

            bubbles = frame.get_by_test_id("message-text")
            directions = await bubbles.evaluate_all(
                "els => els.map(el => getComputedStyle(el).direction)"
            )
            assert directions == ["rtl", "ltr"]  # each message by its own text
            # Mirrored: my message on the left, the agent's on the right, send left of the box.
            mine = await frame.locator('[data-from="visitor"]').bounding_box()
            theirs = await frame.locator('[data-from="agent"]').bounding_box()
            send = await frame.get_by_test_id("send").bounding_box()
            composer = await frame.get_by_test_id("composer").bounding_box()
            assert mine and theirs and send and composer
            assert mine["x"] < theirs["x"] and send["x"] < composer["x"]
            meta = frame.locator('[data-from="visitor"] time')
            await expect(meta).to_have_text(PERSIAN_DIGITS)

            # Closed, an agent's message counts in Persian digits.
            await frame.get_by_test_id("close").click()
            await agent_message(agent, conv_id, "a2", "پیام دوم")
            await expect(frame.get_by_test_id("unread")).to_have_text("۱")
    finally:
        await agent.close()


async def test_offline_form_waits_in_the_queue(browser: Browser, live_server: Any) -> None:
    await asyncio.to_thread(live_server.add_agent, "sara@example.com", "password123", "Sara")
    async with shop(browser, live_server) as s:
        page = s.page
        frame = await open_panel(page)
        # Nobody online: the offline form instead of the composer.
        form = frame.get_by_test_id("start-form")
        await expect(form).to_be_visible()
        await expect(frame.get_by_test_id("composer-form")).to_be_hidden()
        await expect(frame.get_by_test_id("conversation-status")).to_have_text(
            "We're away right now"
        )
        await form.get_by_test_id("start-submit").click()
        await expect(form.get_by_role("alert")).to_have_text(
            "Please fill in the highlighted fields."
        )
        await expect(form.get_by_label("Email")).to_have_attribute("aria-invalid", "true")
        await form.get_by_label("Name").fill("Ali")
        await form.get_by_label("Email").fill("ali@example.com")
        await form.get_by_label("Message").fill("Please call me back about order 4521")
        await form.get_by_test_id("start-submit").click()
        mine = frame.get_by_test_id("message").filter(has_text="order 4521")
        await expect(mine.get_by_test_id("message-state")).to_have_text("sent")
        await expect(form).to_be_hidden()
        await expect(frame.get_by_test_id("queue")).to_contain_text(
            "We'll reply to ali@example.com."
        )

        # The next agent to sign in finds it in the queue, with the email to answer.
        token = await asyncio.to_thread(live_server.login, "sara@example.com")
        agent, welcome = await cl.agent(live_server.ws_url, token, status="away")
        [item] = welcome["queue"]
        assert item["visitor"]["email"] == "ali@example.com"
        assert item["visitor"]["name"] == "Ali"
        assert item["preview"] == "Please call me back about order 4521"
        await agent.close()


async def test_prechat_form_with_departments(browser: Browser, live_server: Any) -> None:
    store = Store.from_url(live_server.redis_url)
    await store.update_site("demo", {"prechat": "1", "departments": "Sales,Support"})
    agent = await online_agent(live_server)
    try:
        async with shop(browser, live_server) as s:
            page = s.page
            frame = await open_panel(page)
            form = frame.get_by_test_id("start-form")
            await expect(form.get_by_test_id("start-submit")).to_have_text("Start chat")
            await expect(form.get_by_label("Name")).to_be_focused()
            await form.get_by_label("Name").fill("Sima")
            await form.get_by_label("Email").fill("sima@example.com")
            await form.get_by_label("Department").select_option("Support")
            await form.get_by_label("Message").fill("My invoice is wrong")
            await form.get_by_label("Message").press("Tab")
            await page.keyboard.press("Enter")
            await expect(frame.get_by_test_id("message-text")).to_have_text(["My invoice is wrong"])
            assigned = await agent.expect("assigned")
            conv = assigned["conversation"]
            assert conv["department"] == "Support"
            assert conv["visitor"]["name"] == "Sima"
            # Details given once: no form for the next chat.
            await expect(form).to_be_hidden()
    finally:
        await agent.close()
        await store.close()
