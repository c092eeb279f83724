"""Snooze in the agent console, in real Chromium (docs/protocol.md, "Agent actions", `snooze`;
the lifecycle's `snoozed` / `snooze_ended`): a chat that waits on the visitor is set aside
from its header, sits in the collapsed "Snoozed" group until a time, and comes back to the
working list when the snooze ends, when the visitor writes, or when the agent wakes it.

The snooze's end is fired by the test itself at a chosen instant past it, through the
server's own timer script (as tests/integration/test_snooze.py does): the server's poll runs
on real time and reaches that instant only long after the test. The agent's browser runs in
a fixed time zone and locale, so the times it shows can be checked exactly.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Browser, Page, WebSocketRoute, expect

from chatserver.core.sla import SlaPolicy
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
from tests.servers import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

HOUR = 3600_000
TZ = ZoneInfo("Europe/Berlin")
ALERTED = "cs:console:alerted:"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with console_server(tmp_path_factory.mktemp("snooze")) as server:
        yield server


async def new_page(browser: Browser, problems: list[str]) -> Page:
    ctx = await browser.new_context(locale="en-GB", timezone_id=TZ.key)
    page = await ctx.new_page()
    watch(page, problems)
    return page


def working(page: Page, conv: str) -> Any:
    """The chat's entry in the working list ("My chats")."""
    return page.get_by_test_id("conversations").locator(f'[data-id="{conv}"]')


def snoozed(page: Page, conv: str) -> Any:
    """The chat's entry in the "Snoozed" group."""
    return page.get_by_test_id("snoozed").locator(f'[data-id="{conv}"]')


def events(page: Page, event: str) -> Any:
    return page.get_by_test_id("thread").locator(f'[data-event="{event}"]')


def local(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, TZ)


def until_label(until: int) -> str | re.Pattern[str]:
    """The sidebar's "until 09:00", with the date in front when it is not today."""
    at = local(until)
    if at.date() == datetime.now(TZ).date():
        return f"until {at:%H:%M}"
    return re.compile(rf"^until \S.* {at.day} \S+, {at:%H:%M}$")


async def snoozed_until(store: Store, site: str, conv: str) -> int:
    kept = await store.get_conversation(site, conv)
    assert kept is not None and kept["snoozed_until"], kept
    return int(kept["snoozed_until"])


async def alerted(page: Page, prefix: str) -> list[str]:
    """The alerts (sound, desktop) this console rang: ConsoleKit's claim marks."""
    keys: list[str] = await page.evaluate(
        f"() => Object.keys(localStorage).filter((k) => k.startsWith({ALERTED + prefix!r}))"
    )
    return keys


async def reply(page: Page, v: cl.Client, text: str) -> None:
    await page.get_by_test_id("composer").fill(text)
    await page.get_by_test_id("composer").press("Enter")
    await v.expect("message", lambda f: f.get("text") == text)


async def snooze(page: Page, choice: str) -> None:
    await page.get_by_test_id("snooze").click()
    await page.get_by_test_id(f"snooze-{choice}").click()


async def test_snooze_and_what_ends_it(browser: Browser, live: LiveServer) -> None:
    site = "snooze"
    await add_agent(live, "sara@snooze.test", "Sara", site, capacity=3)
    problems: list[str] = []
    page = await new_page(browser, problems)
    store = Store.from_url(live.redis_url)
    clients: list[cl.Client] = []
    title = page.get_by_test_id("thread-title")
    bar = page.get_by_test_id("snooze-bar")
    group = page.get_by_test_id("snoozed-section")
    try:
        await log_in(page, live.base_url, "sara@snooze.test")
        va, a = await visitor_writes(live, site, "Where is my parcel?", name="Anna")
        clients.append(va)
        await expect(working(page, a)).to_be_visible()
        await expect(title).to_have_text("Anna")
        # Waiting for the agent: nothing to snooze. Answered, it waits on the visitor.
        await expect(page.get_by_test_id("snooze-menu")).to_be_hidden()
        await reply(page, va, "Let me check with the warehouse")
        await expect(page.get_by_test_id("snooze-menu")).to_be_visible()
        await expect(group).to_be_hidden()

        # 1 hour, by the server's clock: the chat leaves the working list.
        before = time.time() * 1000
        await snooze(page, "1h")
        await expect(snoozed(page, a)).to_have_count(1)
        await expect(working(page, a)).to_have_count(0)
        until = await snoozed_until(store, site, a)
        assert before + HOUR - 5000 < until < time.time() * 1000 + HOUR + 5000
        await expect(group).to_be_visible()
        await expect(page.get_by_test_id("snoozed-count")).to_have_text("1")
        await expect(snoozed(page, a)).to_be_hidden()  # the group starts collapsed
        await expect(page.get_by_test_id("conversations-count")).to_have_text("0")
        await expect(page.get_by_test_id("conversations-empty")).to_be_visible()
        await expect(page.get_by_test_id("load")).to_have_text("1 / 3")  # it still counts
        # Its thread stays open: until when, and Wake now; the step is an agent-only line.
        await expect(bar).to_be_visible()
        info = page.get_by_test_id("snooze-info")
        await expect(info).to_contain_text("Snoozed until")
        await expect(info).to_contain_text(f"{local(until):%H:%M}")
        await expect(page.get_by_test_id("snooze-menu")).to_be_hidden()
        await expect(events(page, "snoozed")).to_have_class(re.compile(r"\bmsg-private\b"))
        await expect(events(page, "snoozed")).to_have_attribute("title", "Only agents see this")
        await page.get_by_test_id("snoozed-group").locator("summary").click()
        await expect(snoozed(page, a)).to_be_visible()
        await expect(snoozed(page, a).get_by_test_id("snoozed-until")).to_have_text(
            until_label(until)
        )

        # Another chat is on screen when the snooze's time comes: Anna's is back, with an alert.
        vb, b = await visitor_writes(live, site, "Hello?", name="Bahram")
        clients.append(vb)
        await working(page, b).click()
        await expect(title).to_have_text("Bahram")
        assert await alerted(page, "snooze:") == []
        policy = SlaPolicy.from_settings(await store.get_site(site))
        assert await store.fire_timer(site, f"snooze|{a}", until + 1, policy) == "fired"
        await expect(working(page, a)).to_be_visible()
        await expect(snoozed(page, a)).to_have_count(0)
        await expect(group).to_be_hidden()
        await expect(page.get_by_test_id("conversations-count")).to_have_text("2")
        await expect(page.get_by_test_id("status-line")).to_contain_text("The snooze ended")
        assert len(await alerted(page, "snooze:")) == 1
        await working(page, a).click()
        await expect(events(page, "snooze_ended")).to_have_count(1)
        await expect(events(page, "snooze_ended")).to_have_class(re.compile(r"\bmsg-private\b"))
        await expect(bar).to_be_hidden()

        # Tomorrow at 09:00 in the agent's time zone (a date in the list: not today); then the
        # visitor writes, and the chat is back at once with the usual new-message alert.
        await snooze(page, "tomorrow")
        await expect(snoozed(page, a)).to_have_count(1)
        until = await snoozed_until(store, site, a)
        tomorrow = (datetime.now(TZ) + timedelta(days=1)).replace(
            hour=9, minute=0, second=0, microsecond=0
        )
        assert until == int(tomorrow.timestamp() * 1000)
        await expect(snoozed(page, a).get_by_test_id("snoozed-until")).to_have_text(
            until_label(until)
        )
        await working(page, b).click()
        news = await visitor_says(va, "Any news?")
        await expect(working(page, a)).to_be_visible()
        await expect(group).to_be_hidden()
        await expect(chat(page, a).get_by_test_id("unread")).to_have_text("1")
        assert len(await alerted(page, f"msg:{news}")) == 1
        assert (await store.get_conversation(site, a) or {})["snoozed_until"] == ""

        # A date and time of the agent's choosing, within 30 days; kept over a reload; woken.
        await working(page, a).click()
        await reply(page, va, "It ships on Monday")
        await page.get_by_test_id("snooze").click()
        field = page.get_by_test_id("snooze-at")
        await field.fill(f"{datetime.now(TZ) + timedelta(days=31):%Y-%m-%dT%H:%M}")
        await page.get_by_test_id("snooze-custom").click()
        await expect(page.get_by_test_id("snooze-error")).to_have_text(
            "Choose a time within the next 30 days."
        )
        await expect(working(page, a)).to_be_visible()
        at = (datetime.now(TZ) + timedelta(days=3)).replace(
            hour=14, minute=30, second=0, microsecond=0
        )
        await field.fill(f"{at:%Y-%m-%dT%H:%M}")
        await page.get_by_test_id("snooze-custom").click()
        await expect(snoozed(page, a)).to_have_count(1)
        until = await snoozed_until(store, site, a)
        assert until == int(at.timestamp() * 1000)
        await page.reload()
        await expect(snoozed(page, a)).to_have_count(1)
        await expect(working(page, b)).to_be_visible()
        await expect(title).to_have_text("Bahram")  # a reload opens a chat of the working list
        await page.get_by_test_id("snoozed-group").locator("summary").click()
        await expect(snoozed(page, a).get_by_test_id("snoozed-until")).to_have_text(
            until_label(until)
        )
        await snoozed(page, a).click()
        await expect(page.get_by_test_id("snooze-info")).to_contain_text("Snoozed until")
        await expect(page.get_by_test_id("snooze-info")).to_contain_text("14:30")
        await page.get_by_test_id("wake").click()
        await expect(working(page, a)).to_be_visible()
        await expect(bar).to_be_hidden()
        await expect(events(page, "snooze_ended")).to_have_count(2)
        await expect(page.get_by_test_id("snooze-menu")).to_be_visible()
        assert (await store.get_conversation(site, a) or {})["snoozed_until"] == ""
        assert len(await alerted(page, "snooze:")) == 1  # waking it yourself rings nothing

        # The visitor was told nothing of it.
        await reply(page, va, "Shipped!")
        told = {f.get("event") for f in va.frames if f.get("from") == "system"}
        assert not told & {"snoozed", "snooze_ended"}
        assert problems == []
    finally:
        await store.close()
        for c in clients:
            await c.close()
        await page.context.close()


async def test_refusals_are_shown_and_the_server_clock_is_used(
    browser: Browser, live: LiveServer
) -> None:
    """The browser's clock runs two hours ahead of the server's (the welcome's server_time
    says so): "1 hour" is then in the server's past, and the server refuses it. A visitor's
    message held back on its way to the console makes the next snooze a conflict."""
    site = "snoozerr"
    await add_agent(live, "omid@snooze.test", "Omid", site)
    problems: list[str] = []
    page = await new_page(browser, problems)
    routes: list[WebSocketRoute] = []
    held: list[str | bytes] = []
    holding = {"on": False}

    def route(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()

        def from_server(message: str | bytes) -> None:
            frame = json.loads(message) if isinstance(message, str) else {}
            if frame.get("type") == "welcome":
                frame["server_time"] -= 2 * HOUR
                message = json.dumps(frame)
            if holding["on"] and frame.get("from") == "visitor":
                held.append(message)
                return
            ws.send(message)

        server.on_message(from_server)
        routes.append(ws)

    await page.route_web_socket(re.compile(r"/ws/agent$"), route)
    status_line = page.get_by_test_id("status-line")
    v: cl.Client | None = None
    try:
        await log_in(page, live.base_url, "omid@snooze.test")
        v, conv = await visitor_writes(live, site, "Hi, a question")
        await expect(working(page, conv)).to_be_visible()
        await reply(page, v, "Ask away")
        await snooze(page, "1h")
        await expect(status_line).to_have_text("Choose a time within the next 30 days.")
        await expect(status_line).to_have_class(re.compile(r"\berror\b"))
        await expect(working(page, conv)).to_be_visible()
        await expect(page.get_by_test_id("snoozed-section")).to_be_hidden()

        # The visitor writes, and the console does not know yet: the server refuses.
        holding["on"] = True
        await visitor_says(v, "Is it waterproof?")
        await snooze(page, "4h")  # two hours ahead by the server's clock: a valid time
        await expect(status_line).to_have_text(
            "Only a chat that waits on the visitor can be snoozed."
        )
        await expect(working(page, conv)).to_be_visible()
        holding["on"] = False
        for message in held:
            routes[-1].send(message)
        await expect(page.get_by_test_id("thread").get_by_test_id("message-text")).to_have_text(
            ["Hi, a question", "Ask away", "Is it waterproof?"]
        )
        await expect(page.get_by_test_id("snooze-menu")).to_be_hidden()  # waiting for him
        assert problems == []
    finally:
        if v is not None:
            await v.close()
        await page.context.close()
