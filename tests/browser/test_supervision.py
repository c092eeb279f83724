"""Supervisors in real Chromium: watching an agent's live chat from the dashboard, whispering,
joining and taking over (docs/protocol.md, Supervision), and what the agent sees of it.

The visitor is the protocol client over the real visitor socket (tests/client.py), so "the
visitor never receives a whisper" is checked on frames: after a later message the visitor
does receive (a positive marker), live and after a full replay.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from tests import client as cl
from tests.browser.console_support import (
    PASSWORD,
    add_agent,
    chat,
    console_server,
    log_in,
    visitor_says,
    visitor_writes,
    watch,
)
from tests.servers import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

WHISPER = "Offer a 10% refund, she ordered twice"
PERSIAN = "سلام، بسته‌ام هنوز نرسیده"
# What a visitor must never receive.
AGENT_ONLY_EVENTS = {"monitor_started", "taken_over"}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with console_server(tmp_path_factory.mktemp("supervision")) as server:
        yield server


async def new_page(browser: Browser, problems: list[str]) -> Page:
    page = await (await browser.new_context()).new_page()
    watch_all(page, problems)
    return page


def watch_all(page: Page, problems: list[str]) -> None:
    """Page errors and dialogs (the shared helper), and errors the page logs (a failed
    request, a refused script...)."""
    watch(page, problems)

    def on_console(msg: Any) -> None:
        # The server has no /favicon.ico; the browser asks anyway.
        if msg.type == "error" and not msg.location.get("url", "").endswith("/favicon.ico"):
            problems.append(f"{page.url}: console {msg.text} at {msg.location.get('url')}")

    page.on("console", on_console)


def texts(page: Page) -> Any:
    return page.get_by_test_id("thread").get_by_test_id("message-text")


def secret_frames(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        f
        for f in frames
        if f.get("from") in ("whisper", "note")
        or f.get("event") in AGENT_ONLY_EVENTS
        or "10% refund" in str(f)
    ]


async def open_from_dashboard(dash: Page, conv: str) -> Page:
    """Click the unresolved row's Watch link: the console opens in its own tab."""
    link = (
        dash.get_by_test_id("unresolved")
        .locator(f'tr[data-id="{conv}"]')
        .get_by_test_id("watch-link")
    )
    await expect(link).to_have_attribute("href", f"/agent#watch={conv}")
    async with dash.context.expect_page() as opened:
        await link.click()
    page = await opened.value
    return page


async def test_watch_whisper_join_and_take_over(browser: Browser, live: LiveServer) -> None:
    site = "watch"
    await add_agent(live, "sara@watch.test", "Sara", site, capacity=2)
    await add_agent(live, "mina@watch.test", "Mina", site, capacity=2, role="supervisor")
    problems: list[str] = []
    sara = await new_page(browser, problems)
    dash = await new_page(browser, problems)
    v: cl.Client | None = None
    try:
        await log_in(sara, live.base_url, "sara@watch.test")
        v, conv = await visitor_writes(live, site, PERSIAN, name="Leila")
        await expect(chat(sara, conv)).to_be_visible()
        await v.expect("assigned")

        # Mina (a supervisor: Away, so nothing is routed to her) opens the chat from the
        # dashboard's unresolved table.
        await log_in(dash, live.base_url, "mina@watch.test")
        await dash.goto(f"{live.base_url}/dashboard")
        mina = await open_from_dashboard(dash, conv)
        watch_all(mina, problems)
        await expect(mina).to_have_url(re.compile(r"/agent$"))  # the link is consumed
        watched = mina.get_by_test_id("watching").locator(f'[data-id="{conv}"]')
        await expect(watched).to_be_visible()
        await expect(watched.get_by_test_id("watch-agent")).to_have_text("Agent: Sara")
        await expect(mina.get_by_test_id("watching-count")).to_have_text("1")
        await expect(mina.get_by_test_id("conversations")).to_be_empty()
        await expect(mina.get_by_test_id("load")).to_have_text("0 / 2")
        bar = mina.get_by_test_id("watch-bar")
        await expect(bar).to_be_visible()
        await expect(mina.get_by_test_id("watch-holder")).to_have_text("Sara has this chat")
        await expect(mina.get_by_test_id("thread-status")).to_have_text(
            "Watching · Waiting for the agent"
        )
        await expect(texts(mina)).to_have_text([PERSIAN])
        # Right-to-left text takes its own direction.
        await expect(texts(mina).first).to_have_attribute("dir", "auto")
        # Watching only: no composer, no own-chat buttons.
        await expect(mina.get_by_test_id("composer-form")).to_be_hidden()
        await expect(mina.get_by_test_id("resolve")).to_be_hidden()
        await expect(mina.get_by_test_id("transfer")).to_be_hidden()

        # The agent is told (agent-only).
        sara_thread = sara.get_by_test_id("thread")
        started = sara_thread.locator('[data-event="monitor_started"]')
        await expect(started).to_contain_text("Mina is watching the chat")

        # Live: the visitor's next message and typing.
        await visitor_says(v, "It was due on Monday")
        await expect(texts(mina)).to_have_text([PERSIAN, "It was due on Monday"])
        await v.send({"type": "typing", "state": True, "preview": "Order 4521"})
        await expect(mina.get_by_test_id("typing")).to_have_text("Visitor is typing: Order 4521")
        await v.send({"type": "typing", "state": False})
        await expect(mina.get_by_test_id("typing")).to_be_hidden()

        # Whisper: the composer opens in its own mode.
        await bar.get_by_test_id("watch-whisper").click()
        form = mina.get_by_test_id("composer-form")
        await expect(form).to_be_visible()
        await expect(form).to_have_class(re.compile("whisper-mode"))
        await expect(mina.get_by_test_id("send")).to_have_text("Whisper")
        await expect(mina.get_by_test_id("mode-note")).to_be_hidden()
        composer = mina.get_by_test_id("composer")
        await composer.fill(WHISPER)
        await composer.press("Enter")
        mine = mina.get_by_test_id("whisper")
        await expect(mine).to_contain_text(WHISPER)
        await expect(mine).to_contain_text("Whisper · You")
        await expect(mine.get_by_test_id("message-state")).to_have_text("sent")

        # The agent sees it, labelled, and answers the visitor.
        whisper = sara_thread.get_by_test_id("whisper")
        await expect(whisper).to_contain_text(WHISPER)
        await expect(whisper).to_contain_text("Whisper · Mina")
        await sara.get_by_test_id("composer").fill("Let me check that for you")
        await sara.get_by_test_id("composer").press("Enter")
        # The marker: the reply after the whisper reached the visitor, the whisper did not.
        await v.expect("message", lambda f: f.get("text") == "Let me check that for you")
        assert secret_frames(v.frames) == []
        await expect(texts(mina)).to_have_text(
            [PERSIAN, "It was due on Monday", WHISPER, "Let me check that for you"]
        )
        # Nor on a reconnect with the whole conversation replayed.
        token = v.token
        await v.close()
        v, _ = await cl.visitor(live.ws_url, site=site, token=token, cursor="0-0")
        await v.expect("synced")
        replayed = [f.get("text") for f in v.of_type("message")]
        assert "Let me check that for you" in replayed and PERSIAN in replayed
        assert secret_frames(v.frames) == []

        # Join: the visitor sees Mina's name, then what she writes.
        await bar.get_by_test_id("watch-join").click()
        joined = await v.expect("message", lambda f: f.get("event") == "joined")
        assert joined["author"]["name"] == "Mina" and "Mina" in joined["text"]
        await expect(bar.get_by_test_id("watch-join")).to_have_text("Leave")
        await expect(mina.get_by_test_id("watch-holder")).to_contain_text("Joined: you")
        await expect(sara.get_by_test_id("thread-status")).to_contain_text("with Mina")
        await mina.get_by_test_id("mode-reply").click()
        await expect(mina.get_by_test_id("send")).to_have_text("Send")
        await composer.fill("Hello Leila, I am Mina, the team lead")
        await composer.press("Enter")
        said = await v.expect("message", lambda f: f.get("from") == "agent" and "Mina" in f["text"])
        assert said["author"]["name"] == "Mina"
        await expect(
            sara_thread.get_by_test_id("message").filter(has_text="I am Mina")
        ).to_have_class(re.compile(r"\bmsg-team\b"))

        # Take over, to herself.
        await bar.get_by_test_id("watch-take-over").click()
        dialog = mina.get_by_test_id("transfer-dialog")
        await expect(dialog).to_be_visible()
        await expect(dialog.locator("h2")).to_have_text("Take over this chat")
        await expect(dialog.get_by_test_id("transfer-note")).to_be_hidden()
        await expect(dialog.get_by_test_id("transfer-agent")).to_have_count(0)  # only Sara
        await dialog.get_by_test_id("take-over-me").locator("input").check()
        await dialog.get_by_test_id("transfer-submit").click()
        await expect(dialog).to_be_hidden()

        # The agent's console drops it and says who took it.
        await expect(chat(sara, conv)).to_have_count(0)
        await expect(sara.get_by_test_id("status-line")).to_have_text("Mina took over this chat.")
        await expect(sara.get_by_test_id("load")).to_have_text("0 / 2")
        # Mina's shows it as her own.
        own = mina.get_by_test_id("conversations").locator(f'[data-id="{conv}"]')
        await expect(own).to_be_visible()
        await expect(mina.get_by_test_id("watching-empty")).to_be_visible()
        await expect(bar).to_be_hidden()
        await expect(mina.get_by_test_id("resolve")).to_be_visible()
        await expect(mina.get_by_test_id("load")).to_have_text("1 / 2")
        await expect(mina.get_by_test_id("mode-note")).to_be_visible()
        # The visitor sees the change, and nothing of the agents' side.
        moved = await v.expect("message", lambda f: f.get("event") == "transferred")
        assert "Mina" in moved["text"]
        await composer.fill("I will refund the second order now")
        await composer.press("Enter")
        await v.expect("message", lambda f: f.get("text") == "I will refund the second order now")
        assert secret_frames(v.frames) == []
        # Nothing doubled in her thread after the history came again with the assignment.
        await expect(mina.get_by_test_id("thread").get_by_test_id("whisper")).to_have_count(1)
        await expect(
            texts(mina).filter(has_text=re.compile("^Let me check that for you$"))
        ).to_have_count(1)
        assert problems == []
    finally:
        if v is not None:
            await v.close()
        for page in (sara, dash):
            await page.context.close()


async def test_a_take_over_that_lost_says_why(browser: Browser, live: LiveServer) -> None:
    site = "race"
    await add_agent(live, "sara@race.test", "Sara", site, capacity=2)
    await add_agent(live, "mina@race.test", "Mina", site, capacity=2, role="supervisor")
    await add_agent(live, "omid@race.test", "Omid", site, capacity=2, role="admin")
    problems: list[str] = []
    sara = await new_page(browser, problems)
    mina = await new_page(browser, problems)
    v: cl.Client | None = None
    omid: cl.Client | None = None
    try:
        await log_in(sara, live.base_url, "sara@race.test")
        v, conv = await visitor_writes(live, site, "Where is my parcel?")
        await expect(chat(sara, conv)).to_be_visible()
        sara_id = (await v.expect("assigned"))["agent"]["id"]

        # An agent's console refuses to watch (a fresh page, as from a link).
        await sara.goto("about:blank")
        await sara.goto(f"{live.base_url}/agent#watch={conv}")
        await expect(sara.get_by_test_id("status-line")).to_have_text(
            "Only supervisors and admins can watch chats."
        )
        await expect(sara.get_by_test_id("watch-bar")).to_be_hidden()
        await expect(chat(sara, conv)).to_be_visible()  # her own chat is still hers

        # Signed out, the link meets the sign-in page and still opens the chat after it.
        await mina.goto(f"{live.base_url}/agent#watch={conv}")
        await expect(mina).to_have_url(re.compile(r"/login#watch="))
        await mina.get_by_label("Email").fill("mina@race.test")
        await mina.get_by_label("Password").fill(PASSWORD)
        await mina.get_by_role("button", name="Sign in").click()
        await expect(mina).to_have_url(re.compile(f"/agent#watch={conv}$"))
        await expect(mina.get_by_test_id("watch-holder")).to_have_text("Sara has this chat")
        # A reload goes on watching, with nothing shown twice.
        await mina.reload()
        await expect(mina.get_by_test_id("watch-holder")).to_have_text("Sara has this chat")
        await expect(mina.get_by_test_id("watching").get_by_test_id("conversation")).to_have_count(
            1
        )
        await expect(texts(mina)).to_have_text(["Where is my parcel?"])
        await expect(mina.locator('[data-event="monitor_started"]')).to_have_count(1)
        await mina.get_by_test_id("watch-take-over").click()
        dialog = mina.get_by_test_id("transfer-dialog")
        await expect(dialog.get_by_test_id("take-over-me")).to_be_visible()

        # Meanwhile another supervisor takes it over: Mina's console sees the move...
        token = await asyncio.to_thread(live.login, "omid@race.test", "correct-horse-battery")
        omid, _ = await cl.agent(live.ws_url, token, status="away")
        await omid.send({"type": "take_over", "conversation_id": conv, "from_agent_id": sara_id})
        await omid.expect("assigned", lambda f: f["conversation_id"] == conv)
        await expect(mina.get_by_test_id("watch-holder")).to_have_text("Omid has this chat")
        await expect(sara.get_by_test_id("status-line")).to_have_text("Omid took over this chat.")
        # ... and her take-over, decided while Sara had it, is refused with the reason.
        await dialog.get_by_test_id("take-over-me").locator("input").check()
        await dialog.get_by_test_id("transfer-submit").click()
        await expect(dialog.get_by_test_id("transfer-error")).to_have_text(
            "Someone else moved this chat first: check who has it now, then try again."
        )
        await dialog.get_by_test_id("transfer-cancel").click()
        # Trying again against the agent she now sees holding it works.
        await mina.get_by_test_id("watch-take-over").click()
        await dialog.get_by_test_id("take-over-me").locator("input").check()
        await dialog.get_by_test_id("transfer-submit").click()
        await expect(dialog).to_be_hidden()
        await omid.expect("unassigned", lambda f: f.get("reason") == "taken_over")
        await expect(
            mina.get_by_test_id("conversations").locator(f'[data-id="{conv}"]')
        ).to_be_visible()
        assert secret_frames(v.frames) == []
        assert problems == []
    finally:
        for c in (v, omid):
            if c is not None:
                await c.close()
        for page in (sara, mina):
            await page.context.close()


async def test_take_over_for_another_agent_then_back_to_the_queue(
    browser: Browser, live: LiveServer
) -> None:
    site = "handon"
    await add_agent(live, "sara@handon.test", "Sara", site, capacity=2)
    await add_agent(live, "reza@handon.test", "Reza", site, capacity=2)
    # A supervisor with no capacity of her own: she can move chats, not take them.
    await add_agent(live, "mina@handon.test", "Mina", site, capacity=0, role="supervisor")
    problems: list[str] = []
    sara = await new_page(browser, problems)
    mina = await new_page(browser, problems)
    v: cl.Client | None = None
    reza: cl.Client | None = None
    try:
        await log_in(sara, live.base_url, "sara@handon.test")
        v, conv = await visitor_writes(live, site, "Can I pay by invoice?")
        await expect(chat(sara, conv)).to_be_visible()
        await v.expect("assigned")
        token = await asyncio.to_thread(live.login, "reza@handon.test", "correct-horse-battery")
        reza, _ = await cl.agent(live.ws_url, token)

        await log_in(mina, live.base_url, "mina@handon.test")
        await mina.goto(f"{live.base_url}/agent#watch={conv}")
        holder = mina.get_by_test_id("watch-holder")
        await expect(holder).to_have_text("Sara has this chat")
        dialog = mina.get_by_test_id("transfer-dialog")
        await mina.get_by_test_id("watch-take-over").click()
        await expect(dialog.get_by_test_id("take-over-me")).to_contain_text("0/0")
        await (
            dialog.get_by_test_id("transfer-agent").filter(has_text="Reza").locator("input").check()
        )
        await dialog.get_by_test_id("transfer-submit").click()
        await expect(dialog).to_be_hidden()
        await reza.expect("assigned", lambda f: f["conversation_id"] == conv)
        await expect(chat(sara, conv)).to_have_count(0)
        await expect(sara.get_by_test_id("status-line")).to_have_text("Mina took over this chat.")
        await expect(holder).to_have_text("Reza has this chat")
        assert (
            "Reza" in (await v.expect("message", lambda f: f.get("event") == "transferred"))["text"]
        )

        # Back to the general queue: the agent is told, the chat waits (both agents away, so
        # that routing leaves it there).
        await sara.get_by_test_id("agent-status").click()
        await expect(sara.get_by_test_id("agent-status")).to_have_text("Away")
        await reza.send({"type": "status", "status": "away"})
        await reza.expect("status", lambda f: f.get("status") == "away")
        await mina.get_by_test_id("watch-take-over").click()
        await (
            dialog.get_by_test_id("transfer-department")
            .filter(has_text="General queue")
            .locator("input")
            .check()
        )
        await dialog.get_by_test_id("transfer-submit").click()
        await expect(dialog).to_be_hidden()
        gone = await reza.expect("unassigned", lambda f: f["conversation_id"] == conv)
        assert gone["reason"] == "taken_over"
        await v.expect("message", lambda f: f.get("event") == "requeued")
        await expect(holder).to_have_text("In the queue: nobody has this chat yet")
        await expect(mina.get_by_test_id("watch-join")).to_be_disabled()
        take = mina.get_by_test_id("watch-take-over")
        await expect(take).to_have_text("Take")
        # Taking it needs room she does not have: said plainly, and it stays queued.
        await take.click()
        await expect(mina.get_by_test_id("status-line")).to_have_text(
            "You are at your capacity: close or hand on one of your chats first."
        )
        await expect(holder).to_have_text("In the queue: nobody has this chat yet")
        assert secret_frames(v.frames) == []
        assert problems == []
    finally:
        for c in (v, reza):
            if c is not None:
                await c.close()
        for page in (sara, mina):
            await page.context.close()
