"""What the widget's browser tests share: customer pages on another origin, and the panel.

The chat server listens on 127.0.0.1; customer pages are served by a second tiny server and
opened as http://localhost:PORT, so the widget always runs cross-origin, as on a real site.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from playwright.async_api import Browser, BrowserContext, Frame, Page, Request, expect

from tests import client as cl
from tests.browser.test_chat_e2e import watch
from tests.servers import LiveServer

HOSTILE_CSS = """
* { all: unset !important; }
html, body, div, iframe { margin: 40px; padding: 40px; border: 9px solid red; }
iframe { display: inline !important; width: 10px; height: 10px; opacity: .1; }
body * { box-sizing: content-box; font-size: 40px; line-height: 4; color: red; }
div { position: relative; z-index: 2147483647; transform: rotate(1deg); }
"""


class HostPages:
    """Serves customer pages from a dict: path -> HTML (and path -> extra response headers)."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        self.headers: dict[str, dict[str, str]] = {}
        pages, extra = self.pages, self.headers

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                body = pages.get(path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                for name, value in extra.get(path, {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write((body or "not found").encode())

            def log_message(self, *args: Any) -> None:  # keep the test output clean
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://localhost:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def page(
        self,
        chat_url: str,
        path: str = "/",
        attrs: str = 'data-site="demo"',
        lang: str = "en",
        head: str = "",
        times: int = 1,
        body: str = "<div><h1>Shop</h1><p>Products and prices.</p></div>",
        headers: dict[str, str] | None = None,
    ) -> str:
        """Publish a shop page embedding the widget ``times`` times, served with ``headers``
        (a Content-Security-Policy, say); returns its URL."""
        tag = f'<script src="{chat_url}/widget.js" {attrs} async></script>'
        self.headers[path] = headers or {}
        self.pages[path] = (
            f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>Shop</title>{head}</head><body>{body}{tag * times}</body></html>"
        )
        return self.origin + path

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Shop:
    host: HostPages
    url: str
    ctx: BrowserContext
    page: Page


@asynccontextmanager
async def shop(
    browser: Browser,
    live: LiveServer,
    page: dict[str, Any] | None = None,
    problems: list[str] | None = None,
    **context: Any,
) -> AsyncIterator[Shop]:
    """A browser context (``context`` options) with a customer's page open, on another origin,
    that embeds the widget (``page`` options of :meth:`HostPages.page`). Script errors and
    dialogs on the page are added to ``problems``."""
    host = HostPages()
    ctx = await browser.new_context(**context)
    try:
        url = host.page(live.base_url, **(page or {}))
        tab = await ctx.new_page()
        if problems is not None:
            watch(tab, problems)
        await tab.goto(url)
        yield Shop(host, url, ctx, tab)
    finally:
        await ctx.close()
        host.close()


async def panel(page: Page) -> Frame:
    """The widget's frame on ``page``, once its script has said it is ready."""
    await expect(page.locator("iframe[data-chatserver]")).to_have_count(1)
    handle = await page.locator("iframe[data-chatserver]").element_handle()
    assert handle is not None
    frame = await handle.content_frame()
    assert frame is not None
    await frame.wait_for_load_state()
    await expect(frame.get_by_test_id("panel")).to_be_attached()
    await page.wait_for_function("window.Chatserver && window.Chatserver.version === 1")
    return frame


async def open_panel(page: Page) -> Frame:
    frame = await panel(page)
    await frame.get_by_test_id("launcher").click()
    await expect(frame.get_by_test_id("panel")).to_be_visible()
    return frame


async def say(frame: Frame, text: str, state: str = "sent") -> None:
    """Write in the widget and wait until the message shows ``state``."""
    composer = frame.get_by_test_id("composer")
    await composer.fill(text)
    await composer.press("Enter")
    await expect(composer).to_have_value("")
    mine = frame.get_by_test_id("message").filter(has_text=text)
    # Stored at least: an agent who has the chat open may have read it already.
    wanted = re.compile(r"^(sent|read)$") if state == "sent" else state
    await expect(mine.get_by_test_id("message-state")).to_have_text(wanted)


async def start_chat(frame: Frame, agent: cl.Client, text: str) -> str:
    """The visitor writes ``text``; returns the id of the conversation assigned to ``agent``."""
    await say(frame, text)
    conv_id: str = (await agent.expect("assigned"))["conversation_id"]
    await agent.expect("synced", lambda f: f["conversation_id"] == conv_id)
    return conv_id


async def online_agent(
    live: LiveServer, email: str = "sara@example.com", name: str = "Sara", capacity: int = 3
) -> cl.Client:
    """An agent connected over the protocol (tests/client.py), online and ready to be routed."""
    await asyncio.to_thread(live.add_agent, email, "password123", name, capacity)
    token = await asyncio.to_thread(live.login, email)
    agent, _ = await cl.agent(live.ws_url, token)
    return agent


def texts(frames: list[dict[str, Any]], conv_id: str) -> list[str]:
    """Texts of the visitor and agent messages among ``frames`` of one conversation."""
    return [
        f["text"]
        for f in frames
        if f.get("type") == "message"
        and f.get("conversation_id") == conv_id
        and f.get("from") in ("visitor", "agent")
    ]


async def widget_bytes(page: Page, url: str, origin: str) -> dict[str, int]:
    """Load ``url`` in ``page`` (a fresh context: nothing cached) and return what came from the
    chat server at ``origin`` until the widget is ready, panel still closed: path -> bytes of
    the body as sent (gzipped when the server compresses it)."""
    finished: list[Request] = []
    page.on("requestfinished", lambda request: finished.append(request))
    await page.goto(url)
    await panel(page)
    await page.wait_for_load_state("networkidle")
    sizes = {}
    for request in finished:
        if request.url.startswith(origin):
            path = request.url[len(origin) :].split("?")[0]
            sizes[path] = (await request.sizes())["responseBodySize"]
    return sizes
