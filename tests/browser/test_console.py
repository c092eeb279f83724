"""The agent workspace in real Chromium: several chats at once, the queue, canned responses,
private notes, transfer, resolve and reopen, a reconnect, hostile and right-to-left text.

Visitors are driven over the real visitor socket (tests/client.py), so every assertion about
what a visitor receives is about frames, not about the widget's markup.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.async_api import Browser, Page, WebSocketRoute, expect

from chatserver.store import Store
from tests import client as cl
from tests.browser.console_support import (
    add_agent,
    chat,
    console_server,
    log_in,
    visitor_says,
    visitor_writes,
    watch,
)
from tests.servers import LiveServer, run_async

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

PERSIAN = "سلام، سفارشم کجاست؟"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with console_server(tmp_path_factory.mktemp("console")) as server:
        yield server


def site_settings(live: LiveServer, site: str, **fields: str) -> None:
    async def run() -> None:
        store = Store.from_url(live.redis_url)
        try:
            await store.update_site(site, fields)
        finally:
            await store.close()

    run_async(run())


def texts(page: Page) -> Any:
    return page.get_by_test_id("thread").get_by_test_id("message-text")


async def new_page(browser: Browser, problems: list[str], **kw: Any) -> Page:
    ctx = await browser.new_context(**kw)
    page = await ctx.new_page()
    watch(page, problems)
    return page


async def test_three_chats_at_once_with_unread_counts(browser: Browser, live: LiveServer) -> None:
    await add_agent(live, "three@example.com", "Sara", "three", capacity=3)
    await asyncio.to_thread(site_settings, live, "three", sla_next_response_s="2")
    problems: list[str] = []
    page = await new_page(browser, problems)
    try:
        await log_in(page, live.base_url, "three@example.com")
        va, a = await visitor_writes(live, "three", "a1", name="Anna")
        await expect(chat(page, a)).to_be_visible()
        vb, b = await visitor_writes(live, "three", "b1", name="Bahram")
        vc, c = await visitor_writes(live, "three", "c1", name="Chloe")
        await expect(page.get_by_test_id("conversation")).to_have_count(3)
        await expect(page.get_by_test_id("load")).to_have_text("3 / 3")
        # The first chat opened by itself; the others collect unread messages.
        await expect(page.get_by_test_id("thread-title")).to_have_text("Anna")
        for text in ("b2", "b3"):
            await visitor_says(vb, text)
        await visitor_says(vc, "c2")
        await visitor_says(va, "a2")
        await expect(chat(page, b).get_by_test_id("unread")).to_have_text("3")
        await expect(chat(page, c).get_by_test_id("unread")).to_have_text("2")
        await expect(chat(page, a).get_by_test_id("unread")).to_be_hidden()
        await expect(texts(page)).to_have_text(["a1", "a2"])
        await expect(page).to_have_title("(5) Chat console")

        # Oldest unanswered first, highlighted past the site's 2 s next-response target.
        names = page.get_by_test_id("conversation").locator(".conv-name")
        await expect(names).to_have_text(["Anna", "Bahram", "Chloe"])
        await expect(chat(page, b)).to_have_class(re.compile(r"\blate\b"))
        await expect(chat(page, b).get_by_test_id("waiting")).to_contain_text("waiting")

        # Answering Anna moves her down; opening Bahram reads his three.
        await page.get_by_test_id("composer").fill("Hi Anna")
        await page.get_by_test_id("composer").press("Enter")
        await expect(names).to_have_text(["Bahram", "Chloe", "Anna"])
        await expect(chat(page, a)).not_to_have_class(re.compile(r"\blate\b"))
        await chat(page, b).click()
        await expect(page.get_by_test_id("thread-title")).to_have_text("Bahram")
        await expect(texts(page)).to_have_text(["b1", "b2", "b3"])
        await expect(chat(page, b).get_by_test_id("unread")).to_be_hidden()
        await expect(chat(page, c).get_by_test_id("unread")).to_have_text("2")
        await expect(page).to_have_title("(2) Chat console")
        # The visitor learns the agent read it.
        await vb.expect("read")
        # Keyboard: Alt+ArrowDown goes to the next chat.
        await page.keyboard.press("Alt+ArrowDown")
        await expect(page.get_by_test_id("thread-title")).to_have_text("Chloe")
        await expect(chat(page, c).get_by_test_id("unread")).to_be_hidden()
        # Unread counts survive a reload (read markers are kept), and nothing doubles.
        await visitor_says(va, "a3")
        await expect(chat(page, a).get_by_test_id("unread")).to_have_text("1")
        await page.reload()
        await expect(chat(page, a).get_by_test_id("unread")).to_have_text("1")
        await expect(chat(page, b).get_by_test_id("unread")).to_be_hidden()
        await chat(page, a).click()
        await expect(texts(page)).to_have_text(["a1", "a2", "Hi Anna", "a3"])
        assert problems == []
    finally:
        for v in (va, vb, vc):
            await v.close()
        await page.context.close()


async def test_pick_from_the_queue(browser: Browser, live: LiveServer) -> None:
    await add_agent(live, "queue@example.com", "Sara", "queue", capacity=2)
    problems: list[str] = []
    page = await new_page(browser, problems)
    try:
        await log_in(page, live.base_url, "queue@example.com")
        await page.get_by_test_id("agent-status").click()  # away: nothing is routed to her
        await expect(page.get_by_test_id("agent-status")).to_have_text("Away")
        shoes = {"url": "https://shop.test/p/1", "title": "Shoes"}
        v, conv = await visitor_writes(live, "queue", "Is anyone there?", page=shoes)
        item = page.get_by_test_id("queue-item")
        await expect(item).to_have_count(1)
        await expect(item).to_contain_text("Is anyone there?")
        await expect(item).to_contain_text("Shoes")
        await expect(item.get_by_test_id("queue-wait")).to_have_text(re.compile(r"^\d+ s$"))
        await expect(page.get_by_test_id("conversations")).to_be_empty()

        await item.get_by_test_id("take").click()
        await expect(chat(page, conv)).to_be_visible()
        await expect(page.get_by_test_id("queue-item")).to_have_count(0)
        await expect(page.get_by_test_id("queue-empty")).to_be_visible()
        await expect(texts(page)).to_have_text(["Is anyone there?"])
        await expect(page.get_by_test_id("load")).to_have_text("1 / 2")
        assert (await v.expect("assigned"))["agent"]["name"] == "Sara"
        assert problems == []
    finally:
        await v.close()
        await page.context.close()


async def test_canned_response_insertion(browser: Browser, live: LiveServer) -> None:
    await add_agent(live, "canned@example.com", "Sara", "canned")

    async def seed() -> None:
        store = Store.from_url(live.redis_url)
        try:
            await store.save_canned("canned", "thanks", "Thank you for waiting! 🙏")
            await store.save_canned("canned", "refund", "Refunds take 3-5 working days.")
            await store.save_canned("other", "secret", "Another site's text")
        finally:
            await store.close()

    await asyncio.to_thread(run_async, seed())
    problems: list[str] = []
    page = await new_page(browser, problems)
    try:
        await log_in(page, live.base_url, "canned@example.com")
        v, conv = await visitor_writes(live, "canned", "Hello")
        await expect(chat(page, conv)).to_be_visible()
        composer = page.get_by_test_id("composer")
        await composer.press_sequentially("/")
        options = page.get_by_test_id("canned-option")
        await expect(options).to_have_count(2)  # this site's only
        await composer.press_sequentially("ref")
        await expect(options).to_have_count(1)
        await expect(options).to_contain_text("/refund")
        await composer.press("Enter")  # inserts, does not send
        await expect(composer).to_have_value("Refunds take 3-5 working days.")
        await expect(page.get_by_test_id("canned-picker")).to_be_hidden()
        # In the middle of a sentence, with the arrow keys.
        await composer.press_sequentially(" /")
        await expect(options).to_have_count(2)
        for key in ("ArrowDown", "ArrowDown", "ArrowDown"):  # refund, thanks, wrap, thanks
            await page.keyboard.press(key)
        await expect(options.nth(1)).to_have_attribute("aria-selected", "true")
        await composer.press("Tab")
        await expect(composer).to_have_value(
            "Refunds take 3-5 working days. Thank you for waiting! 🙏"
        )
        await composer.press("Enter")
        reply = await v.expect("message", lambda f: f["from"] == "agent")
        assert reply["text"] == "Refunds take 3-5 working days. Thank you for waiting! 🙏"
        assert problems == []
    finally:
        await v.close()
        await page.context.close()


async def test_a_private_note_never_reaches_the_visitor(browser: Browser, live: LiveServer) -> None:
    await add_agent(live, "note@example.com", "Sara", "note")
    problems: list[str] = []
    page = await new_page(browser, problems)
    try:
        await log_in(page, live.base_url, "note@example.com")
        v, conv = await visitor_writes(live, "note", "My order is late")
        await expect(chat(page, conv)).to_be_visible()
        await v.expect("assigned")
        await page.get_by_test_id("mode-note").click()
        await expect(page.get_by_test_id("composer-form")).to_have_class(re.compile("note-mode"))
        await expect(page.get_by_test_id("send")).to_have_text("Add note")
        composer = page.get_by_test_id("composer")
        await composer.press_sequentially("Customer is a VIP, be generous")
        await composer.press("Enter")
        note = page.get_by_test_id("note")
        await expect(note).to_have_count(1)
        await expect(note).to_contain_text("Customer is a VIP, be generous")
        await expect(note.get_by_test_id("message-state")).to_have_text("sent")
        # Back to replying (Alt+N toggles): the reply reaches the visitor, the note does not.
        await page.keyboard.press("Alt+N")
        await expect(page.get_by_test_id("send")).to_have_text("Send")
        await composer.fill("We are on it.")
        await composer.press("Enter")
        await v.expect("message", lambda f: f.get("text") == "We are on it.")
        await asyncio.sleep(0.3)
        assert not any("VIP" in str(f) for f in v.frames)
        # Writing a note sends no "typing" to the visitor either.
        assert not any(f["type"] == "typing" and f.get("from") == "agent" for f in v.frames[:2])

        # The visitor reloads: resumed from its cursor, and replayed from the start.
        for cursor in (None, "0-0"):
            token = v.token
            await v.close()
            v, _ = await cl.visitor(live.ws_url, site="note", token=token, cursor=cursor)
            await v.expect("synced")
            assert "We are on it." in [f["text"] for f in v.of_type("message")]
            assert not any("VIP" in str(f) or f.get("from") == "note" for f in v.frames)
        # The console keeps it after its own reload.
        await page.reload()
        await chat(page, conv).click()
        await expect(page.get_by_test_id("note")).to_have_count(1)
        assert problems == []
    finally:
        await v.close()
        await page.context.close()


async def test_transfer_between_two_agents(browser: Browser, live: LiveServer) -> None:
    await add_agent(live, "sara.t@example.com", "Sara", "transfer", capacity=2)
    await add_agent(live, "reza.t@example.com", "Reza", "transfer", capacity=2)
    problems: list[str] = []
    sara = await new_page(browser, problems)
    reza = await new_page(browser, problems)
    try:
        await log_in(sara, live.base_url, "sara.t@example.com")
        v, conv = await visitor_writes(live, "transfer", "I need a refund")
        await expect(chat(sara, conv)).to_be_visible()
        await log_in(reza, live.base_url, "reza.t@example.com")

        await sara.get_by_test_id("transfer").click()
        dialog = sara.get_by_test_id("transfer-dialog")
        await expect(dialog).to_be_visible()
        target = dialog.get_by_test_id("transfer-agent").filter(has_text="Reza")
        await expect(target).to_contain_text("online · 0/2")
        await target.locator("input").check()
        await dialog.get_by_test_id("transfer-note").fill("Order #4521, already refunded once")
        await dialog.get_by_test_id("transfer-submit").click()
        await expect(dialog).to_be_hidden()
        await expect(chat(sara, conv)).to_have_count(0)
        await expect(sara.get_by_test_id("load")).to_have_text("0 / 2")

        await expect(chat(reza, conv)).to_be_visible()
        await expect(reza.get_by_test_id("load")).to_have_text("1 / 2")
        await chat(reza, conv).click()
        thread = reza.get_by_test_id("thread")
        await expect(thread.get_by_test_id("note")).to_contain_text(
            "Order #4521, already refunded once"
        )
        await expect(thread.get_by_test_id("note")).to_contain_text("Transfer note · Sara")
        await expect(thread.get_by_text("Sara transferred the chat to Reza")).to_be_visible()
        await reza.get_by_test_id("composer").fill("Reza here, let me check.")
        await reza.get_by_test_id("composer").press("Enter")
        reply = await v.expect("message", lambda f: f["from"] == "agent")
        assert reply["author"]["name"] == "Reza"
        assert any(f.get("event") == "transferred" for f in v.of_type("message"))
        assert not any("4521" in str(f) for f in v.frames)
        assert problems == []
    finally:
        await v.close()
        await sara.context.close()
        await reza.context.close()


async def test_resolve_and_reopen(browser: Browser, live: LiveServer) -> None:
    await add_agent(live, "resolve@example.com", "Sara", "resolve")
    problems: list[str] = []
    page = await new_page(browser, problems)
    try:
        await log_in(page, live.base_url, "resolve@example.com")
        v, conv = await visitor_writes(live, "resolve", "Thanks, that is all")
        await expect(chat(page, conv)).to_be_visible()
        await page.get_by_test_id("resolve").click()
        await v.expect("resolved")
        await expect(chat(page, conv)).to_contain_text("Resolved")
        await expect(page.get_by_test_id("composer")).to_be_disabled()
        await expect(page.get_by_test_id("load")).to_have_text("0 / 3")

        await page.get_by_test_id("reopen").click()
        await expect(page.get_by_test_id("composer")).to_be_enabled()
        await expect(page.get_by_test_id("load")).to_have_text("1 / 3")
        reopened = page.get_by_test_id("thread").get_by_text("Sara reopened the chat")
        await expect(reopened).to_be_visible()
        await v.expect("message", lambda f: f.get("event") == "reopened")
        await page.get_by_test_id("composer").fill("One more thing about your order")
        await page.get_by_test_id("composer").press("Enter")
        await v.expect("message", lambda f: f.get("text") == "One more thing about your order")

        await page.get_by_test_id("resolve").click()
        await expect(chat(page, conv)).to_contain_text("Resolved")
        await page.get_by_test_id("resolve").click()  # now "Close": off my list
        await expect(page.get_by_test_id("conversations")).to_be_empty()
        await expect(page.get_by_test_id("thread-placeholder")).to_be_visible()
        assert problems == []
    finally:
        await v.close()
        await page.context.close()


async def test_reconnect_and_two_tabs_never_lose_or_double(
    browser: Browser, live: LiveServer
) -> None:
    await add_agent(live, "net@example.com", "Sara", "net")
    problems: list[str] = []
    ctx = await browser.new_context()
    page = await ctx.new_page()
    watch(page, problems)
    routes: list[WebSocketRoute] = []
    blocked = asyncio.Event()

    async def route(ws: WebSocketRoute) -> None:
        if blocked.is_set():  # the network is down: refuse
            await ws.close(code=4000)
            return
        ws.connect_to_server()
        routes.append(ws)

    await page.route_web_socket(re.compile(r"/ws/agent$"), route)
    try:
        await log_in(page, live.base_url, "net@example.com")
        v, conv = await visitor_writes(live, "net", "one")
        await expect(chat(page, conv)).to_be_visible()
        await visitor_says(v, "two")
        await expect(texts(page)).to_have_text(["one", "two"])

        # The network drops; the visitor goes on writing and the agent types a reply.
        blocked.set()
        for ws in routes:
            await ws.close(code=4000)
        await expect(page.get_by_test_id("status-line")).to_contain_text("reconnecting")
        await visitor_says(v, "three")
        await visitor_says(v, "four")
        await page.get_by_test_id("composer").fill("Reply written offline")
        await page.get_by_test_id("composer").press("Enter")
        await asyncio.sleep(1.0)
        blocked.clear()
        await expect(page.get_by_test_id("agent-status")).to_have_text("Online", timeout=20_000)
        expected = ["one", "two", "three", "four", "Reply written offline"]
        await expect(texts(page)).to_have_text(expected)
        # The offline reply was stored exactly once and reached the visitor once.
        await v.expect("message", lambda f: f.get("text") == "Reply written offline")
        await visitor_says(v, "five")
        await expect(texts(page)).to_have_text([*expected, "five"])
        assert [f["text"] for f in v.of_type("message") if f["from"] == "agent"] == []

        # A second tab shows the same conversation, once each; both stay live.
        second = await ctx.new_page()
        watch(second, problems)
        await second.goto(f"{live.base_url}/agent")
        await expect(chat(second, conv)).to_be_visible()
        await chat(second, conv).click()
        await expect(texts(second)).to_have_text([*expected, "five"])
        await second.get_by_test_id("composer").fill("From the second tab")
        await second.get_by_test_id("composer").press("Enter")
        # Stored before the visitor's next line, so the order below is the order written.
        await v.expect("message", lambda f: f.get("text") == "From the second tab")
        await visitor_says(v, "six")
        final = [*expected, "five", "From the second tab", "six"]
        await expect(texts(second)).to_have_text(final)
        await expect(texts(page)).to_have_text(final)
        # A reload resumes from the saved cursors: still once each.
        await page.reload()
        await chat(page, conv).click()
        await expect(texts(page)).to_have_text(final)
        assert problems == []
    finally:
        await v.close()
        await ctx.close()


async def test_hostile_and_right_to_left_text(browser: Browser, live: LiveServer) -> None:
    await add_agent(live, "text@example.com", "Sara", "text")
    problems: list[str] = []
    page = await new_page(browser, problems)
    hostile = '<script>window.__xss = 1</script><img src=x onerror="alert(1)">'
    try:
        await log_in(page, live.base_url, "text@example.com")
        v, conv = await visitor_writes(
            live, "text", hostile, name='<b onmouseover="alert(2)">Eve</b>', locale="fa-IR"
        )
        await expect(chat(page, conv)).to_be_visible()
        await visitor_says(v, PERSIAN)
        thread = page.get_by_test_id("thread")
        await expect(texts(page)).to_have_text([hostile, PERSIAN])
        assert await thread.locator("script, img, b").count() == 0
        await expect(page.get_by_test_id("thread-title")).to_have_text(
            '<b onmouseover="alert(2)">Eve</b>'
        )
        assert await page.evaluate("window.__xss") is None
        # Right to left: each message by its own text, and the composer as it is typed.
        bubble = texts(page).filter(has_text=PERSIAN)
        assert await bubble.evaluate("el => getComputedStyle(el).direction") == "rtl"
        first = texts(page).filter(has_text="script")
        assert await first.evaluate("el => getComputedStyle(el).direction") == "ltr"
        composer = page.get_by_test_id("composer")
        await composer.fill("بله، بررسی می‌کنم")
        assert await composer.evaluate("el => el.dir") == "auto"
        assert await composer.evaluate("el => el.matches(':dir(rtl)')")
        await composer.press("Enter")
        assert (await v.expect("message", lambda f: f["from"] == "agent"))["text"] == (
            "بله، بررسی می‌کنم"
        )
        assert problems == []
    finally:
        await v.close()
        await page.context.close()
