"""The supervisors' dashboard on the shared reconnecting socket (widget/socket.js), in real
Chromium: it comes back after the server goes away, shrugs off frames that are not JSON
objects, and retries the moment the browser says it is back online.

The second test runs the page on Playwright's paused clock: no timer fires unless the test
advances it, so a reconnect while the clock stands still can only come from the `online`
event, and "Reconnecting…" stays on screen until the test lets the backoff run.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import re
from collections.abc import Iterator

import pytest
from playwright.async_api import Browser, WebSocketRoute, expect

from tests.browser.console_support import add_agent, console_server, log_in, watch
from tests.servers import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with console_server(tmp_path_factory.mktemp("shared-socket")) as server:
        yield server


async def test_the_dashboard_comes_back_after_a_server_restart(
    browser: Browser, live: LiveServer
) -> None:
    await add_agent(live, "ida@example.com", "Ida", "restart", role="supervisor", capacity=0)
    problems: list[str] = []
    ctx = await browser.new_context()
    page = await ctx.new_page()
    watch(page, problems)
    try:
        await log_in(page, live.base_url, "ida@example.com")
        await page.goto(f"{live.base_url}/dashboard")
        status = page.get_by_test_id("live")
        await expect(status).to_have_text("Live")

        node = live.nodes[0]
        await asyncio.to_thread(node.stop)  # SIGTERM: the dashboard's socket is dropped
        await expect(status).to_have_text("Reconnecting…")
        await expect(status).to_have_attribute("data-state", "connecting")
        await asyncio.to_thread(node.start)  # same port
        # Within one backoff step (at most 30 s), with no reload.
        await expect(status).to_have_text("Live", timeout=40_000)
        await expect(page.get_by_test_id("queue-count")).to_have_text("0")
        assert problems == []
    finally:
        await ctx.close()


async def test_junk_frames_and_the_online_event(browser: Browser, live: LiveServer) -> None:
    await add_agent(live, "noor@example.com", "Noor", "junk", role="supervisor", capacity=0)
    problems: list[str] = []
    ctx = await browser.new_context()
    page = await ctx.new_page()
    watch(page, problems)
    sockets: list[WebSocketRoute] = []  # each connection the page opened, in order
    real: list[str] = []  # the server's frames, as sent
    forward = {"on": True}  # whether the server's frames reach the page

    def route(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()

        def from_server(message: str | bytes) -> None:
            real.append(str(message))
            if forward["on"]:
                ws.send(message)

        server.on_message(from_server)
        sockets.append(ws)

    await page.route_web_socket(re.compile(r"/ws/dashboard$"), route)
    try:
        await log_in(page, live.base_url, "noor@example.com")
        await page.clock.install()
        await page.clock.pause_at(datetime.datetime.now() + datetime.timedelta(seconds=1))
        await page.goto(f"{live.base_url}/dashboard")
        status = page.get_by_test_id("live")
        count = page.get_by_test_id("queue-count")
        await expect(status).to_have_text("Live")
        assert len(sockets) == 1

        # The server drops the socket: the page says so and waits out the first backoff
        # step (250-500 ms), which runs only when the test moves the clock.
        await sockets[0].close(code=1012)
        await expect(status).to_have_text("Reconnecting…")
        await page.clock.run_for(500)
        await expect(status).to_have_text("Live")
        assert len(sockets) == 2

        # Frames that are not JSON, or not objects, or have no type: ignored, no script error,
        # and the socket goes on (the next real frame, with a marker, is drawn).
        forward["on"] = False
        for junk in ("not json {", "null", "42", '"text"', "[]", '{"no": "type"}'):
            sockets[1].send(junk)
        frame = json.loads(real[-1])
        frame["data"]["now"]["queue"]["count"] = 4242
        sockets[1].send(json.dumps(frame))
        await expect(count).to_have_text("4242")
        await expect(status).to_have_text("Live")
        assert len(sockets) == 2
        assert problems == []  # the junk came before the marker: its errors would be in

        # Dropped again, with the clock standing still: no backoff timer can fire, so the
        # reconnect comes from the browser's "online" event alone.
        forward["on"] = True
        await sockets[1].close(code=1012)
        await expect(status).to_have_text("Reconnecting…")
        await page.evaluate("window.dispatchEvent(new Event('online'))")
        await expect(status).to_have_text("Live")
        await expect(count).to_have_text("0")  # the server's own figures again
        assert len(sockets) == 3
        assert problems == []
    finally:
        await ctx.close()
