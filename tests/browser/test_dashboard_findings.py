"""The dashboard's answers to an outside tester's findings, in real Chromium: no estimate with
nobody queued, chart axes that read at any scale, and search results that stay inside their
card whatever a visitor typed."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.async_api import Browser, Page, WebSocketRoute, expect

from tests import client as cl
from tests.browser.console_support import PASSWORD, add_agent, console_server, log_in
from tests.browser.console_support import visitor_writes as writes
from tests.browser.test_chat_e2e import watch
from tests.servers import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

DURATION = re.compile(r"^\d+ (s|m \d\d s|h \d\d m)$")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with console_server(tmp_path_factory.mktemp("dashboard-findings")) as server:
        yield server


async def open_dashboard(browser: Browser, live: LiveServer, email: str, **ctx: Any) -> Page:
    context = await browser.new_context(**ctx)
    page = await context.new_page()
    await log_in(page, live.base_url, email)
    await page.goto(f"{live.base_url}/dashboard")
    return page


async def test_an_empty_queue_has_no_estimate(browser: Browser, live: LiveServer) -> None:
    await add_agent(live, "lena@example.com", "Lena", "est", role="supervisor", capacity=0)
    await add_agent(live, "omar@example.com", "Omar", "est", capacity=1)
    token = await asyncio.to_thread(live.login, "omar@example.com", PASSWORD)
    omar, _ = await cl.agent(live.ws_url, token)  # online with a free slot
    page = await open_dashboard(browser, live, "lena@example.com")
    problems: list[str] = []
    watch(page, problems)
    try:
        await expect(page.get_by_test_id("load")).to_have_text("0 / 1")  # Omar is counted
        await expect(page.get_by_test_id("queue-count")).to_have_text("0")
        await expect(page.get_by_test_id("estimated-wait")).to_have_text("nobody waiting")
        api = await page.request.get(f"{live.base_url}/api/metrics/dashboard")
        queue = (await api.json())["now"]["queue"]
        assert queue["count"] == 0 and queue["next_estimated_wait_s"] is None

        # Omar takes the first visitor; the second waits, and now there is an estimate.
        first, _ = await writes(live, "est", "hello")
        await omar.expect("assigned")
        second, _ = await writes(live, "est", "anyone?")
        await expect(page.get_by_test_id("queue-count")).to_have_text("1")
        await expect(page.get_by_test_id("estimated-wait")).to_have_text(DURATION)
        api = await page.request.get(f"{live.base_url}/api/metrics/dashboard")
        queue = (await api.json())["now"]["queue"]
        assert queue["count"] == 1 and queue["next_estimated_wait_s"] > 0
        for c in (first, second, omar):
            await c.close()
        assert problems == []
    finally:
        await page.context.close()


async def test_chart_axes_are_distinct_at_any_scale(browser: Browser, live: LiveServer) -> None:
    """The page is fed the server's own frame with the charts' values scaled, from 200 ms
    to days; every y-axis label differs and every point lies inside the plot."""
    await add_agent(live, "tara@example.com", "Tara", "axes", role="supervisor", capacity=0)
    real: list[dict[str, Any]] = []
    routes: list[WebSocketRoute] = []

    def route(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()

        def from_server(message: str | bytes) -> None:
            frame = json.loads(message)
            # Only the first frame reaches the page: later pushes would redraw real data
            # over the test's.
            if frame.get("type") == "dashboard" and not real:
                real.append(frame)
                ws.send(message)

        server.on_message(from_server)
        routes.append(ws)

    context = await browser.new_context()
    page = await context.new_page()
    await page.route_web_socket(re.compile(r"/ws/dashboard$"), route)
    try:
        await log_in(page, live.base_url, "tara@example.com")
        await page.goto(f"{live.base_url}/dashboard")
        await expect(page.get_by_test_id("live")).to_have_text("Live")
        frame = real[0]
        tops = [200, 900, 4_000, 45_000, 100_000, 540_000, 3 * 3_600_000, 30 * 3_600_000]
        for n, top in enumerate([*tops, 5 * 86_400_000], start=1):
            waits = frame["data"]["charts"]["longest_wait_ms"]
            for i, p in enumerate(waits):
                p["value"] = None if i % 3 else round(top * (i + 1) / len(waits))
            queue = frame["data"]["charts"]["queue_length"]
            for i, p in enumerate(queue):
                p["value"] = i % 2
            frame["data"]["now"]["queue"]["count"] = 1000 + n  # the marker of this frame
            routes[0].send(json.dumps(frame))
            await expect(page.get_by_test_id("queue-count")).to_have_text(str(1000 + n))

            chart = page.get_by_test_id("chart-wait")
            labels = await chart.locator('text[text-anchor="end"]').all_text_contents()
            assert len(labels) >= 3 and len(set(labels)) == len(labels), (top, labels)
            assert all(len(label) <= 6 for label in labels), labels  # they fit the margin
            lowest = await chart.locator("circle.dot").evaluate_all(
                "dots => Math.min(...dots.map((d) => Number(d.getAttribute('cy'))))"
            )
            assert lowest >= 10, (top, lowest)  # the top of the plot area
            counts = (
                await page.get_by_test_id("chart-queue")
                .locator('text[text-anchor="end"]')
                .all_text_contents()
            )
            assert all(re.fullmatch(r"\d+", c) for c in counts), counts  # no half visitors
            assert len(set(counts)) == len(counts) >= 3, counts
    finally:
        await context.close()


async def test_long_words_stay_inside_the_search_card(browser: Browser, live: LiveServer) -> None:
    await add_agent(live, "ines@example.com", "Ines", "wrap", role="supervisor", capacity=0)
    texts = [
        "qqzz" + "w" * 300,
        "https://shop.example.com/qqzz/" + "category-name/" * 20 + "?ref=" + "x" * 80,
    ]
    visitors = [(await writes(live, "wrap", text))[0] for text in texts]
    page = await open_dashboard(
        browser, live, "ines@example.com", viewport={"width": 800, "height": 900}
    )
    problems: list[str] = []
    watch(page, problems)
    try:
        await page.locator('[name="text"]').fill("qqzz")
        await page.get_by_test_id("search").click()
        results = page.get_by_test_id("search-result")
        await expect(results).to_have_count(2)
        card = page.locator("section.card", has=page.get_by_test_id("search-form"))
        box = await card.evaluate(
            """(card) => {
                const c = card.getBoundingClientRect();
                return {
                    overflow: card.scrollWidth - card.clientWidth,
                    rows: [...card.querySelectorAll('[data-testid="search-result"]')].map((r) => {
                        const b = r.getBoundingClientRect();
                        return { left: b.left - c.left, right: c.right - b.right,
                                 hidden: r.scrollWidth - r.clientWidth };
                    }),
                };
            }"""
        )
        assert box["overflow"] <= 0, box
        for row in box["rows"]:
            assert row["left"] >= 0 and row["right"] >= 0 and row["hidden"] <= 0, box
        # The match is on the row, broken over lines, not cut off at the card's edge.
        await expect(results.filter(has_text="w" * 40)).to_have_count(1)
        for v in visitors:
            await v.close()
        assert problems == []
    finally:
        await page.context.close()
