"""An agent who leaves the console stops getting new chats at once, in real Chromium.

Each leaving test sets the same trap: agent B (a protocol client) already holds one chat and
agent A (in the browser) holds none, so routing (lowest load first) prefers A, which the test
checks with the router's own ranking on the live Redis state. Then A leaves (signs out,
closes the tab, or follows the console's link to the dashboard) and, as soon as the server
has seen A's socket go, a new visitor writes: the chat must go to B, and A must be offline in
Redis. A server that kept A online until the presence key expired (as before the change)
routes that chat to A, and the test fails.

Visitors and B are driven over the real sockets (tests/client.py).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator

import pytest
import redis.asyncio as aioredis
from playwright.async_api import Browser, Page, expect

from chatserver.core.routing import rank_candidates
from chatserver.keys import Keys
from chatserver.store import Store
from tests import client as cl
from tests.browser.console_support import (
    PASSWORD,
    add_agent,
    chat,
    console_server,
    log_in,
    visitor_writes,
)
from tests.browser.test_chat_e2e import watch
from tests.servers import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with console_server(tmp_path_factory.mktemp("leaving")) as server:
        server.start_node()  # a second node: signing out must reach the sockets on every node
        yield server


async def new_page(browser: Browser, problems: list[str]) -> Page:
    page = await (await browser.new_context()).new_page()
    watch(page, problems)
    return page


async def sign_in_away(page: Page, base_url: str, email: str) -> None:
    """Sign in as a supervisor or admin, who lands Away."""
    await page.goto(f"{base_url}/login")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_test_id("agent-status")).to_have_text("Away")


async def agent_b_with_one_chat(live: LiveServer, site: str) -> tuple[str, cl.Client, cl.Client]:
    """Agent B online over the protocol, already holding one chat: (B's id, B, that visitor)."""
    b_id = await add_agent(live, f"b@{site}.test", "Bahar", site)
    token = await asyncio.to_thread(live.login, f"b@{site}.test", PASSWORD)
    b, _ = await cl.agent(live.ws_url, token)
    v, conv = await visitor_writes(live, site, "First visitor")
    await b.expect("assigned", lambda f: f["conversation_id"] == conv)
    return b_id, b, v


async def ranking(live: LiveServer, site: str) -> list[str]:
    """Whom routing would try for a chat arriving now, best first (the router's own ranking)."""
    store = Store.from_url(live.redis_url)
    try:
        return rank_candidates(await store.agent_snapshots(site))
    finally:
        await store.close()


async def agent_state(live: LiveServer, site: str, agent_id: str) -> tuple[str, bool]:
    """(status in the agent-state hash, whether the presence key exists), read with redis-py."""
    r = aioredis.from_url(live.redis_url, decode_responses=True)
    try:
        status = await r.hget(Keys().agent_state(site, agent_id), "status")
        return str(status or ""), bool(await r.exists(Keys().presence(site, agent_id)))
    finally:
        await r.aclose()


async def server_noticed_the_leave(live: LiveServer, site: str, agent_id: str) -> None:
    """Wait until the server has seen the agent's last socket go: their disconnect grace is
    scheduled (servers before and after the change both do that). Chromium sends the close
    frame a few ms to some tens of ms after page.close() returns, so a visitor arriving
    before this would be racing the browser, not testing the server."""
    r = aioredis.from_url(live.redis_url, decode_responses=True)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    try:
        while await r.zscore(Keys().timers(site), f"grace|{agent_id}") is None:
            assert loop.time() < deadline, "the server never noticed that the agent left"
            await asyncio.sleep(0.02)
    finally:
        await r.aclose()


async def next_visitor_goes_to(live: LiveServer, site: str, agent_id: str) -> tuple[cl.Client, str]:
    """A new visitor writes; its chat must be assigned to ``agent_id`` (the first and only
    assignment it is told of)."""
    v, conv = await visitor_writes(live, site, "Anyone there?")
    assigned = await v.expect("assigned")
    assert assigned["agent"]["id"] == agent_id, assigned
    return v, conv


async def check_left(
    live: LiveServer, site: str, a_id: str, b_id: str, b: cl.Client, visitors: list[cl.Client]
) -> None:
    """Right after A left: the next chat goes to B, and A is offline in Redis."""
    await server_noticed_the_leave(live, site, a_id)
    v, conv = await next_visitor_goes_to(live, site, b_id)
    visitors.append(v)
    await b.expect("assigned", lambda f: f["conversation_id"] == conv)
    assert await agent_state(live, site, a_id) == ("offline", False)
    assert await ranking(live, site) == [b_id]
    assert [line for node in live.nodes for line in node.crashes()] == []


async def test_signing_out_stops_new_chats_at_once(browser: Browser, live: LiveServer) -> None:
    site = "signout"
    b_id, b, v1 = await agent_b_with_one_chat(live, site)
    visitors = [v1]
    a_id = await add_agent(live, f"a@{site}.test", "Arash", site)
    problems: list[str] = []
    page = await new_page(browser, problems)
    try:
        await log_in(page, live.base_url, f"a@{site}.test")
        # A second console tab of the same session, served by the other node.
        second = await page.context.new_page()
        watch(second, problems)
        await second.goto(f"{live.nodes[1].base_url}/agent")
        await expect(second.get_by_test_id("agent-status")).to_have_text("Online")
        assert await ranking(live, site) == [a_id, b_id]  # the trap: A would get the next chat

        await page.get_by_test_id("logout").click()
        await expect(page).to_have_url(re.compile(r"/login$"))
        # The second tab was signed out too (closed with 4401 by its node), and says so.
        await expect(second.get_by_test_id("status-line")).to_contain_text("session has ended")
        await expect(second.get_by_test_id("agent-status")).to_have_text("Offline")
        await check_left(live, site, a_id, b_id, b, visitors)
        assert problems == []
    finally:
        for v in visitors:
            await v.close()
        await b.close()
        await page.context.close()


async def test_closing_the_tab_stops_new_chats_at_once(browser: Browser, live: LiveServer) -> None:
    site = "tabclose"
    b_id, b, v1 = await agent_b_with_one_chat(live, site)
    visitors = [v1]
    a_id = await add_agent(live, f"a@{site}.test", "Arash", site)
    problems: list[str] = []
    page = await new_page(browser, problems)
    try:
        await log_in(page, live.base_url, f"a@{site}.test")
        assert await ranking(live, site) == [a_id, b_id]

        await page.close()
        await check_left(live, site, a_id, b_id, b, visitors)
        assert problems == []
    finally:
        for v in visitors:
            await v.close()
        await b.close()
        await page.context.close()


async def test_going_to_the_dashboard_stops_new_chats_at_once(
    browser: Browser, live: LiveServer
) -> None:
    site = "navigate"
    b_id, b, v1 = await agent_b_with_one_chat(live, site)
    visitors = [v1]
    a_id = await add_agent(live, f"a@{site}.test", "Arash", site, role="supervisor")
    problems: list[str] = []
    page = await new_page(browser, problems)
    status = page.get_by_test_id("agent-status")
    try:
        await sign_in_away(page, live.base_url, f"a@{site}.test")
        await status.click()
        await expect(status).to_have_text("Online")
        assert await ranking(live, site) == [a_id, b_id]

        await page.get_by_test_id("dashboard-link").click()
        await expect(page).to_have_url(re.compile(r"/dashboard$"))
        await check_left(live, site, a_id, b_id, b, visitors)
        # Back in the console, the tab still remembers the choice: Online.
        await page.go_back()
        await expect(status).to_have_text("Online")
        assert problems == []
    finally:
        for v in visitors:
            await v.close()
        await b.close()
        await page.context.close()


@pytest.mark.parametrize("role", ["supervisor", "admin"])
async def test_supervisors_and_admins_land_away(
    browser: Browser, live: LiveServer, role: str
) -> None:
    site = f"land-{role}"
    b_id, b, v1 = await agent_b_with_one_chat(live, site)
    visitors = [v1]
    s_id = await add_agent(live, f"s@{site}.test", "Shirin", site, role=role)
    problems: list[str] = []
    page = await new_page(browser, problems)
    status = page.get_by_test_id("agent-status")
    try:
        await sign_in_away(page, live.base_url, f"s@{site}.test")
        assert await agent_state(live, site, s_id) == ("away", True)
        assert await ranking(live, site) == [b_id]
        # Shirin holds no chat and B one, yet the next chat goes to B.
        v, _ = await next_visitor_goes_to(live, site, b_id)
        visitors.append(v)
        await expect(page.get_by_test_id("conversations")).to_be_empty()

        await status.click()
        await expect(status).to_have_text("Online")
        v, conv = await next_visitor_goes_to(live, site, s_id)
        visitors.append(v)
        await expect(chat(page, conv)).to_be_visible()
        assert problems == []
    finally:
        for v in visitors:
            await v.close()
        await b.close()
        await page.context.close()
