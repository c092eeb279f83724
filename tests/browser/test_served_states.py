"""The conversation state sets the front end needs come from the server, whose one definition
is chatserver.core.states: the console's pages render them (agent.js reads them from data
attributes; no inline script under the console's policy) and the widget's script is served
with them written in. This fails if what the pages get differs from Python's sets
(tests/unit/test_widget_routes.py fails if a script grows its own copy again)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.async_api import Browser

from chatserver.core.states import CLOSED_STATUSES, HANDLED_STATUSES, OPEN_STATUSES, Status
from tests.browser.console_support import add_agent, console_server, log_in
from tests.servers import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with console_server(tmp_path_factory.mktemp("served-states")) as server:
        yield server


def names(states: frozenset[Status]) -> set[str]:
    return {s.value for s in states}


async def test_the_pages_get_the_sets_of_python(browser: Browser, live: LiveServer) -> None:
    await add_agent(live, "lea@example.com", "Lea", "states", role="supervisor", capacity=0)
    ctx = await browser.new_context()
    page = await ctx.new_page()
    try:
        await log_in(page, live.base_url, "lea@example.com")  # the agent console
        root = page.locator("#console")
        handled = await root.get_attribute("data-handled-states") or ""
        closed = await root.get_attribute("data-closed-states") or ""
        assert set(handled.split(" ")) == names(HANDLED_STATUSES)
        assert set(closed.split(" ")) == names(CLOSED_STATUSES)

        await page.goto(f"{live.base_url}/dashboard")
        options = page.locator('[data-testid="search-form"] [name="status"] option')
        assert await options.evaluate_all("(os) => os.map((o) => o.value)") == [
            "",
            *(s.value for s in Status),
        ]

        # The widget's script as the server sends it (minified), with Python's open states in.
        frame = await page.request.get(f"{live.base_url}/widget/frame?site=demo")
        match = re.search(r'src="(/widget/assets/chat\.js\?v=\w+)"', await frame.text())
        assert match
        script = await (await page.request.get(live.base_url + match.group(1))).text()
        (listed,) = re.findall(r"const OPEN\s*=\s*new Set\(\[([^\]]*)\]\);", script)
        assert set(re.findall(r'"(\w+)"', listed)) == names(OPEN_STATUSES)
    finally:
        await ctx.close()
