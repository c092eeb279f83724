"""Defects an outside tester found in the widget, in Chromium: one test each (see README)."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.async_api import Browser, ConsoleMessage, Frame, Page, expect

from chatserver.core.hours import DAY_NAMES
from chatserver.store import Store
from chatserver.widget_routes import WIDGET_DIR
from tests.browser.widget_helpers import (
    online_agent,
    open_panel,
    panel,
    say,
    shop,
    start_chat,
)

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

STRINGS = json.loads((WIDGET_DIR / "i18n.json").read_text(encoding="utf-8"))
IFRAME = "iframe[data-chatserver]"
# The panel asks the server whether someone can answer every 5 s while it is open.
POLL_SLACK = 15_000


async def site_settings(live: Any, changes: dict[str, str], **expected: Any) -> None:
    """Change the demo site's settings and wait until the widget's config API shows
    ``expected`` (the server keeps a site's settings for a few seconds)."""
    if changes:
        store = Store.from_url(live.redis_url)
        try:
            await store.update_site("demo", changes)
        finally:
            await store.close()
    url = f"{live.base_url}/api/widget/config?site=demo"
    deadline = time.monotonic() + 15
    while True:
        body = await asyncio.to_thread(lambda: json.load(urllib.request.urlopen(url)))
        if all(body.get(key) == value for key, value in expected.items()):
            return
        assert time.monotonic() < deadline, body
        await asyncio.sleep(0.2)


async def frame_width(page: Page, width: int) -> None:
    """Wait until the loader has given the frame ``width`` (416 open, 88 closed)."""
    await page.wait_for_function(
        "([sel, w]) => document.querySelector(sel).getBoundingClientRect().width === w",
        arg=[IFRAME, width],
    )


async def on_screen(page: Page, frame: Frame, selector: str) -> dict[str, float]:
    """Where ``selector`` of the widget's frame is on the host page's screen (CSS px of the
    page's viewport, whatever zoom the page or the frame has)."""
    outer = await page.evaluate(
        "(sel) => { const r = document.querySelector(sel).getBoundingClientRect();"
        " return {x: r.x, y: r.y, width: r.width}; }",
        IFRAME,
    )
    inner = await frame.evaluate(
        "(sel) => { const r = document.querySelector(sel).getBoundingClientRect();"
        " return {x: r.x, y: r.y, width: r.width, height: r.height, vw: innerWidth}; }",
        selector,
    )
    scale = outer["width"] / inner["vw"]
    return {
        "x": outer["x"] + inner["x"] * scale,
        "y": outer["y"] + inner["y"] * scale,
        "right": outer["x"] + (inner["x"] + inner["width"]) * scale,
        "bottom": outer["y"] + (inner["y"] + inner["height"]) * scale,
    }


def disjoint(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        a["right"] <= b["x"] + 0.5
        or b["right"] <= a["x"] + 0.5
        or a["bottom"] <= b["y"] + 0.5
        or b["bottom"] <= a["y"] + 0.5
    )


# 1. ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("zoom", [1, 2])
@pytest.mark.parametrize("viewport", [(1280, 800), (390, 844)], ids=["desktop", "phone"])
async def test_open_panel_fits_the_screen_whatever_the_page_zoom(
    browser: Browser, live_server: Any, zoom: int, viewport: tuple[int, int]
) -> None:
    width, height = viewport
    agent = await online_agent(live_server, name="Sara")
    try:
        async with shop(
            browser,
            live_server,
            page={"head": f"<style>html {{ zoom: {zoom} }}</style>"},
            viewport={"width": width, "height": height},
            reduced_motion="reduce",
        ) as s:
            page = s.page
            frame = await panel(page)
            await page.evaluate("Chatserver.open()")
            await expect(frame.locator("body.open")).to_be_attached()
            await page.wait_for_function(
                "(sel) => document.querySelector(sel).getBoundingClientRect().height > 88",
                arg=IFRAME,
            )
            # A chat under way: the header has its longest texts and the End chat button.
            await start_chat(frame, agent, "Hello at any zoom")
            await expect(frame.get_by_test_id("end-chat")).to_be_visible()

            # The frame lays out at the page's size (its content is not zoomed)...
            box = await page.evaluate(
                "(sel) => { const r = document.querySelector(sel).getBoundingClientRect();"
                " return [r.x, r.y, r.width, r.height]; }",
                IFRAME,
            )
            assert await frame.evaluate("innerWidth") == round(box[2])
            if width < 540:
                assert box == [0, 0, width, height]
            else:
                assert box == [width - 416, height - 780, 416, 780]
            # ...so the whole panel is on screen, header first.
            shown = await on_screen(page, frame, ".panel")
            assert shown["x"] >= 0 and shown["y"] >= 0, shown
            assert shown["right"] <= width + 0.5 and shown["bottom"] <= height + 0.5, shown
            header = await on_screen(page, frame, ".panel-header")
            assert header["y"] >= 0 and header["bottom"] <= height, header
            middle = ((header["x"] + header["right"]) / 2, (header["y"] + header["bottom"]) / 2)
            assert await page.evaluate(
                "([x, y, sel]) => document.elementFromPoint(x, y) === document.querySelector(sel)",
                [*middle, IFRAME],
            )
            # No header text overlaps another.
            parts = {
                sel: await on_screen(page, frame, sel)
                for sel in (".brand-mark", "#panel-title", ".subtitle", ".end-chat", ".close")
            }
            for a in parts:
                for b in parts:
                    if a < b and {a, b} != {"#panel-title", ".subtitle"}:
                        assert disjoint(parts[a], parts[b]), (a, b, parts)
            assert parts["#panel-title"]["bottom"] <= parts[".subtitle"]["y"] + 0.5, parts
            # Clicks land where they are aimed (the frame's coordinates are the page's).
            await frame.get_by_test_id("close").click()
            await expect(frame.get_by_test_id("launcher")).to_be_visible()
    finally:
        await agent.close()


# 2. ----------------------------------------------------------------------------------------


async def test_offline_form_turns_into_the_chat_while_open_and_back(
    browser: Browser, live_server: Any
) -> None:
    async with shop(browser, live_server) as s:
        frame = await open_panel(s.page)
        form = frame.get_by_test_id("start-form")
        composer = frame.get_by_test_id("composer")
        status = frame.get_by_test_id("conversation-status")
        await expect(form).to_be_visible()
        await expect(status).to_have_text(STRINGS["en"]["status_away"])
        await form.get_by_label("Message").fill("Is anyone there?")

        # An agent signs in while the visitor looks at the form: the chat takes its place,
        # with what the visitor typed and the focus.
        agent = await online_agent(live_server, name="Sara")
        try:
            await expect(frame.get_by_test_id("composer-form")).to_be_visible(timeout=POLL_SLACK)
            await expect(form).to_be_hidden()
            await expect(status).to_have_text(STRINGS["en"]["status_online"])
            await expect(composer).to_have_value("Is anyone there?")
            await expect(composer).to_be_focused()

            # The last agent steps away: the offline form again, the text moves back.
            await agent.send({"type": "status", "status": "away"})
            await agent.expect("status")
            await expect(form).to_be_visible(timeout=POLL_SLACK)
            await expect(status).to_have_text(STRINGS["en"]["status_away"])
            await expect(form.get_by_label("Message")).to_have_value("Is anyone there?")
            await expect(form.get_by_label("Name")).to_be_focused()

            # And back: the visitor chats with the agent who returned.
            await agent.send({"type": "status", "status": "online"})
            await expect(composer).to_have_value("Is anyone there?", timeout=POLL_SLACK)
            await composer.press("Enter")
            await agent.expect("assigned")
            await expect(status).to_have_text("You're chatting with Sara")
        finally:
            await agent.close()


# 3. ----------------------------------------------------------------------------------------


async def test_outside_office_hours_an_online_agent_answers_live(
    browser: Browser, live_server: Any
) -> None:
    # Open only on the day after tomorrow: closed now.
    day = DAY_NAMES[(datetime.now(UTC).weekday() + 2) % 7]
    hours = json.dumps({"tz": "UTC", "days": {day: [["09:00", "10:00"]]}})
    await site_settings(live_server, {"office_hours": hours}, open=False)
    async with shop(browser, live_server) as s:
        page = s.page
        # Nobody online, outside office hours: the away form, saying when we are back.
        frame = await open_panel(page)
        form = frame.get_by_test_id("start-form")
        await expect(form).to_be_visible()
        await expect(frame.get_by_test_id("conversation-status")).to_have_text(
            STRINGS["en"]["status_away"]
        )
        await expect(frame.get_by_test_id("start-intro")).to_contain_text("We're back")

        # Homa is online (still outside office hours): routing would give her the chat, so
        # the widget offers the live chat, not the away form.
        agent = await online_agent(live_server, email="homa@example.com", name="Homa")
        try:
            await site_settings(live_server, {}, open=False, agents_online=1)
            await page.reload()
            frame = await panel(page)
            await expect(frame.get_by_test_id("panel")).to_be_visible()
            await expect(frame.get_by_test_id("composer-form")).to_be_visible()
            await expect(frame.get_by_test_id("start-form")).to_be_hidden()
            status = frame.get_by_test_id("conversation-status")
            await expect(status).to_have_text(STRINGS["en"]["status_online"])
            await say(frame, "Are you open?")
            await agent.expect("assigned")
            await expect(status).to_have_text("You're chatting with Homa")
        finally:
            await agent.close()


# 4. ----------------------------------------------------------------------------------------


async def test_rating_card_is_scrolled_fully_into_view(browser: Browser, live_server: Any) -> None:
    agent = await online_agent(live_server)
    try:
        async with shop(browser, live_server, viewport={"width": 1280, "height": 720}) as s:
            frame = await open_panel(s.page)
            conv_id = await start_chat(frame, agent, "A long conversation")
            for n in range(12):
                await agent.send(
                    {
                        "type": "message",
                        "conversation_id": conv_id,
                        "client_id": f"a{n}",
                        "text": f"Answer {n}: " + "and some more words " * 4,
                    }
                )
            await expect(frame.get_by_test_id("message-text").last).to_contain_text("Answer 11")
            await agent.send({"type": "resolve", "conversation_id": conv_id})
            rating = frame.get_by_test_id("rating")
            await expect(rating).to_be_visible()
            # All of it, stars and button, inside the visible part of the message list.
            await frame.wait_for_function(
                """() => {
                  const list = document.querySelector('[data-testid="messages"]');
                  const outer = list.getBoundingClientRect();
                  const inside = (sel) => {
                    const r = document.querySelector(sel).getBoundingClientRect();
                    return r.top >= outer.top - 0.5 && r.bottom <= outer.bottom + 0.5;
                  };
                  return list.scrollTop > 0 && inside('[data-testid="rating"]')
                    && inside('.stars') && inside('[data-testid="rating-submit"]');
                }"""
            )
            await rating.get_by_title("5 of 5").click()
            await rating.get_by_test_id("rating-submit").click()
            await expect(frame.get_by_test_id("rating-thanks")).to_be_visible()
    finally:
        await agent.close()


# 5. ----------------------------------------------------------------------------------------


async def test_open_and_close_events_fire_once_each(browser: Browser, live_server: Any) -> None:
    async with shop(browser, live_server) as s:
        page = s.page
        frame = await panel(page)
        await page.evaluate(
            """() => {
              window.seen = [];
              for (const name of ["open", "close"]) Chatserver.on(name, () => seen.push(name));
            }"""
        )
        # The launcher, the close button, the page's API, Escape: the frame's messages arrive
        # in order, so once the frame has its closed size again every event has arrived.
        await frame.get_by_test_id("launcher").click()
        await frame_width(page, 416)
        await frame.get_by_test_id("close").click()
        await frame_width(page, 88)
        await page.evaluate("Chatserver.open()")
        await frame_width(page, 416)
        await frame.get_by_test_id("composer").press("Escape")
        await frame_width(page, 88)
        assert await page.evaluate("window.seen") == ["open", "close", "open", "close"]


# 6. ----------------------------------------------------------------------------------------


async def test_a_too_long_paste_is_kept_and_the_visitor_told(
    browser: Browser, live_server: Any
) -> None:
    agent = await online_agent(live_server)
    try:
        async with shop(browser, live_server) as s:
            page = s.page
            frame = await open_panel(page)
            composer = frame.get_by_test_id("composer")
            pasted = "".join(f"{n:05d} " for n in range(834))[:5000]
            await composer.focus()
            await page.keyboard.insert_text(pasted)
            await expect(composer).to_have_js_property("textLength", 5000)  # nothing cut
            assert await composer.input_value() == pasted
            notice = frame.get_by_test_id("too-long")
            await expect(notice).to_have_text(
                "1,000 characters too many (4,000 at most): shorten it to send."
            )
            await expect(composer).to_have_attribute("aria-invalid", "true")
            await composer.press("Enter")  # not sent: it stays, and so does the notice
            await expect(composer).to_have_js_property("textLength", 5000)
            await expect(notice).to_be_visible()

            # Shortened to the limit, it goes; the agent gets it whole, and only it.
            await composer.fill(pasted[:4000])
            await expect(notice).to_be_hidden()
            await composer.press("Enter")
            await expect(frame.get_by_test_id("message-state")).to_have_text(["sent"])
            assigned = await agent.expect("assigned")
            await agent.expect("synced")
            messages = [
                f
                for f in agent.of_type("message")
                if f["conversation_id"] == assigned["conversation_id"] and f["from"] == "visitor"
            ]
            assert [m["text"] for m in messages] == [pasted[:4000]]
    finally:
        await agent.close()


async def test_a_too_long_offline_message_is_kept_and_told_in_persian(
    browser: Browser, live_server: Any
) -> None:
    async with shop(browser, live_server, page={"attrs": 'data-site="demo" data-locale="fa"'}) as s:
        page = s.page
        frame = await open_panel(page)
        form = frame.get_by_test_id("start-form")
        await expect(form).to_be_visible()
        message = form.locator("textarea[name=message]")
        text = "سلام " * 820  # 4,100 characters
        await message.focus()
        await page.keyboard.insert_text(text)
        await expect(message).to_have_js_property("textLength", 4100)
        assert await message.input_value() == text
        notice = form.get_by_test_id("too-long")
        expected = STRINGS["fa"]["too_long"].replace("{n}", "۹۹").replace("{max}", "۴٬۰۰۰")
        await expect(notice).to_have_text(expected)  # trimmed: 4,099 characters
        await form.locator("input[name=email]").fill("ali@example.com")
        await form.get_by_test_id("start-submit").click()
        await expect(message).to_be_focused()
        await expect(message).to_have_js_property("textLength", 4100)
        await expect(form).to_be_visible()
        await expect(notice).to_be_visible()


# 7. ----------------------------------------------------------------------------------------

LATIN_NAME = "Northwind Outdoor Equipment Web Shop"
PERSIAN_NAME = "فروشگاه اینترنتی لوازم کوهنوردی و سفر شمال"


async def title_ends(frame: Frame) -> dict[str, Any]:
    """The title's direction and alignment, whether it is cut, and whether its first and last
    characters are inside its box."""
    result: dict[str, Any] = await frame.evaluate(
        """() => {
          const h1 = document.getElementById("panel-title");
          const box = h1.getBoundingClientRect();
          const text = h1.firstChild;
          const at = (i) => {
            const range = document.createRange();
            range.setStart(text, i);
            range.setEnd(text, i + 1);
            const r = range.getBoundingClientRect();
            return r.left >= box.left - 0.5 && r.right <= box.right + 0.5;
          };
          const style = getComputedStyle(h1);
          return {direction: style.direction, align: style.textAlign,
                  cut: h1.scrollWidth > h1.clientWidth,
                  first: at(0), last: at(text.length - 1)};
        }"""
    )
    return result


async def test_rtl_header_cuts_a_name_at_its_own_end(browser: Browser, live_server: Any) -> None:
    await site_settings(live_server, {"name": LATIN_NAME}, name=LATIN_NAME)
    async with shop(
        browser,
        live_server,
        page={"attrs": 'data-site="demo" data-locale="fa"'},
        viewport={"width": 320, "height": 640},
    ) as s:
        page = s.page
        frame = await open_panel(page)
        await expect(frame.locator("#panel-title")).to_have_text(LATIN_NAME)
        # A Latin name reads left to right: its start shows, its end gives way to "…"; a
        # shorter one would still sit on the panel's start side (right), by the brand mark.
        assert await title_ends(frame) == {
            "direction": "ltr",
            "align": "right",
            "cut": True,
            "first": True,
            "last": False,
        }

        await site_settings(live_server, {"name": PERSIAN_NAME}, name=PERSIAN_NAME)
        await page.reload()
        frame = await panel(page)
        await expect(frame.locator("#panel-title")).to_have_text(PERSIAN_NAME)
        assert await title_ends(frame) == {
            "direction": "rtl",
            "align": "right",
            "cut": True,
            "first": True,
            "last": False,
        }
        # The same in an English panel: the Persian name is cut at its own end, on the left.
        await page.goto(s.host.page(live_server.base_url, "/en", 'data-site="demo"'))
        frame = await panel(page)  # open on this tab's previous page: open again
        await expect(frame.get_by_test_id("panel")).to_be_visible()
        await expect(frame.locator("#panel-title")).to_have_text(PERSIAN_NAME)
        assert await title_ends(frame) == {
            "direction": "rtl",
            "align": "left",
            "cut": True,
            "first": True,
            "last": False,
        }


# 8. ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("scripts", ["origin", "nonce"])
async def test_strict_csp_host_page_as_the_readme_says(
    browser: Browser, live_server: Any, scripts: str
) -> None:
    chat = live_server.base_url
    # README: script-src (the chat server, or the page's nonce) and frame-src (the chat
    # server); nothing else is needed. The inline script shows that the policy is enforced.
    attrs = 'data-site="demo"'
    if scripts == "nonce":
        attrs += ' nonce="r4nd0m"'
        source = "'nonce-r4nd0m' 'strict-dynamic'"
    else:
        source = chat
    policy = (
        f"default-src 'none'; script-src {source}; frame-src {chat}; "
        "base-uri 'none'; form-action 'none'"
    )
    agent = await online_agent(live_server)
    logged: list[str] = []
    try:
        async with shop(
            browser,
            live_server,
            page={
                "attrs": attrs,
                "headers": {"Content-Security-Policy": policy},
                "body": "<h1>Shop</h1><script>window.inlineRan = true</script>",
            },
        ) as s:
            page = s.page

            def on_console(message: ConsoleMessage) -> None:
                if "Content Security Policy" in message.text:
                    logged.append(message.text)

            page.on("console", on_console)
            await page.reload()  # with the listener in place from the start
            frame = await open_panel(page)
            conv_id = await start_chat(frame, agent, "Hello from a strict page")
            await agent.send(
                {
                    "type": "message",
                    "conversation_id": conv_id,
                    "client_id": "a1",
                    "text": "Hello, strict page",
                }
            )
            reply = frame.locator('[data-testid="message"][data-from="agent"]')
            await expect(reply).to_contain_text("Hello, strict page")
            await frame.get_by_test_id("close").click()
            await frame_width(page, 88)
            # The policy held (the page's inline script was refused), and it refused nothing
            # of the widget's.
            assert await page.evaluate("window.inlineRan") is None
            assert len(logged) == 1 and "inline script" in logged[0], logged
    finally:
        await agent.close()
