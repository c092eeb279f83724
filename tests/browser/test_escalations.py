"""Escalations and the invariant alarm in real Chromium (docs/protocol.md, Supervision,
"Escalations"; docs/metrics.md, ``now.unowned``).

The SLA timers are fired by the test itself at chosen instants past the visitor's message,
through the server's own script and bus (as tests/integration/test_escalation.py does): the
server's poll runs on real time and reaches those deadlines only long after the test. The
unowned chat is staged by removing its queue entry in Redis (as tests/integration/
test_unowned.py does), on a server that does not sweep, so nothing repairs it mid-test.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from chatserver.core.sla import SlaPolicy
from chatserver.store import Store
from tests import client as cl
from tests.browser.console_support import (
    add_agent,
    chat,
    console_server,
    log_in,
)
from tests.browser.test_supervision import new_page, watch_all
from tests.servers import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

ALERTED = "cs:console:alerted:escalation:"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    # No sweep: it would repair the unowned chat the dashboard test stages on purpose.
    env = {"CHATSERVER_SWEEP_INTERVAL": "3600"}
    with console_server(tmp_path_factory.mktemp("escalations"), env) as server:
        yield server


async def visitor_with_ts(live: LiveServer, site: str, text: str, **hello: Any) -> Any:
    """A new visitor writes ``text``; returns (its client, conversation id, the ack's ts)."""
    v, _ = await cl.visitor(live.ws_url, site=site, **hello)
    cid = cl.client_id()
    await v.send({"type": "message", "client_id": cid, "text": text})
    ack = await v.expect("ack", lambda f: f["client_id"] == cid)
    return v, str(ack["conversation_id"]), int(ack["ts"])


async def says_at(v: cl.Client, text: str) -> int:
    """The visitor writes again; returns the ack's ts (the clock's start)."""
    cid = cl.client_id()
    await v.send({"type": "message", "client_id": cid, "text": text})
    return int((await v.expect("ack", lambda f: f["client_id"] == cid))["ts"])


async def alerted(page: Page) -> list[str]:
    """The escalations this console alerted for (sound, desktop): ConsoleKit's claim marks."""
    keys: list[str] = await page.evaluate(
        f"() => Object.keys(localStorage).filter((k) => k.startsWith({ALERTED!r}))"
    )
    return keys


def entry(page: Page, conv: str) -> Any:
    return page.get_by_test_id("escalations").locator(f'[data-id="{conv}"]')


async def test_supervisors_see_escalations_and_agents_do_not(
    browser: Browser, live: LiveServer
) -> None:
    site = "escal"
    store = Store.from_url(live.redis_url)
    problems: list[str] = []
    sara = await new_page(browser, problems)
    mina = await new_page(browser, problems)
    clients: list[cl.Client] = []
    try:
        # 60 s targets (at risk from 48 s), set before anyone reads the site.
        await store.update_site(site, {"sla_first_response_s": "60", "sla_next_response_s": "60"})
        policy = SlaPolicy.from_settings(await store.get_site(site) or {})
        await add_agent(live, "sara@escal.test", "Sara", site, capacity=2)
        await add_agent(live, "mina@escal.test", "Mina", site, capacity=2, role="supervisor")
        await log_in(sara, live.base_url, "sara@escal.test")
        await log_in(mina, live.base_url, "mina@escal.test")  # Away: nothing is routed to her
        listed = mina.get_by_test_id("escalations")
        await expect(mina.get_by_test_id("attention-section")).to_be_visible()
        await expect(mina.get_by_test_id("escalations-empty")).to_be_visible()
        await expect(mina.get_by_test_id("escalations-count")).to_have_text("0")

        v, conv, t0 = await visitor_with_ts(live, site, "Where is my parcel?", name="Leila")
        clients.append(v)
        await expect(chat(sara, conv)).to_be_visible()
        timer = f"frt|{conv}"

        # 80 % of the first-response target: at risk.
        assert await store.fire_timer(site, timer, t0 + 48_500, policy) == "later"
        item = entry(mina, conv)
        await expect(item).to_have_count(1)
        await expect(item).to_have_attribute("data-level", "at_risk")
        await expect(item.get_by_test_id("escalation-what")).to_have_text("First reply at risk")
        await expect(item.get_by_test_id("escalation-visitor")).to_have_text("Leila")
        await expect(item.get_by_test_id("escalation-visitor")).to_have_attribute("dir", "auto")
        await expect(item.get_by_test_id("escalation-agent")).to_have_text("Agent: Sara")
        await expect(item.get_by_test_id("escalation-time")).to_have_text(
            re.compile(r"^at \d{1,2}:\d{2}")
        )
        await expect(mina.get_by_test_id("escalations-count")).to_have_text("1")
        await expect(mina.get_by_test_id("escalations-empty")).to_be_hidden()
        assert await alerted(mina) == []  # at risk: shown, not rung

        # The target: breached, in place of the at-risk entry, and it alerts.
        assert await store.fire_timer(site, timer, t0 + 60_100, policy) == "fired"
        await expect(item).to_have_attribute("data-level", "breached")
        await expect(item.get_by_test_id("escalation-what")).to_have_text(
            "First reply target missed"
        )
        await expect(listed.get_by_test_id("escalation")).to_have_count(1)
        await expect(mina.get_by_test_id("attention-section")).to_have_attribute(
            "data-level", "breached"
        )
        assert len(await alerted(mina)) == 1

        # The agent sees the breach in her chat (the positive marker), and no escalation UI.
        breach = sara.get_by_test_id("thread").locator('[data-event="sla_breach"]')
        await expect(breach).to_contain_text("First response target missed")
        await expect(sara.get_by_test_id("attention-section")).to_have_count(0)
        await expect(sara.get_by_test_id("escalation")).to_have_count(0)
        assert await alerted(sara) == []

        # Watch opens it as a monitored chat, and the entry goes.
        await item.get_by_test_id("escalation-watch").click()
        watched = mina.get_by_test_id("watching").locator(f'[data-id="{conv}"]')
        await expect(watched).to_be_visible()
        await expect(mina.get_by_test_id("watch-holder")).to_have_text("Sara has this chat")
        await expect(mina.get_by_test_id("thread-title")).to_have_text("Leila")
        await expect(listed.get_by_test_id("escalation")).to_have_count(0)
        await expect(mina.get_by_test_id("escalations-empty")).to_be_visible()

        # A queued chat (Sara away): "in the queue"; kept over a reload; dismissed by hand.
        await sara.get_by_test_id("agent-status").click()
        await expect(sara.get_by_test_id("agent-status")).to_have_text("Away")
        q, queued, tq = await visitor_with_ts(live, site, "سلام، کسی هست؟")
        clients.append(q)
        await q.expect("queue")
        assert await store.fire_timer(site, f"frt|{queued}", tq + 48_500, policy) == "later"
        other = entry(mina, queued)
        await expect(other.get_by_test_id("escalation-agent")).to_have_text("In the queue")
        await expect(other.get_by_test_id("escalation-what")).to_have_text("First reply at risk")
        await mina.reload()
        await expect(other).to_be_visible()
        await expect(mina.get_by_test_id("escalations-count")).to_have_text("1")
        await other.get_by_test_id("escalation-dismiss").click()
        await expect(other).to_have_count(0)
        await expect(mina.get_by_test_id("escalations-count")).to_have_text("0")

        # The next-reply clock of the watched chat; its entry goes when the chat ends.
        await sara.get_by_test_id("agent-status").click()
        await expect(sara.get_by_test_id("agent-status")).to_have_text("Online")
        await sara.get_by_test_id("conversations").locator(f'[data-id="{conv}"]').click()
        await sara.get_by_test_id("composer").fill("Sorry for the wait, let me look")
        await sara.get_by_test_id("composer").press("Enter")
        await v.expect("message", lambda f: f.get("text") == "Sorry for the wait, let me look")
        t1 = await says_at(v, "Any news?")
        assert await store.fire_timer(site, f"nrt|{conv}", t1 + 48_500, policy) == "later"
        await expect(entry(mina, conv).get_by_test_id("escalation-what")).to_have_text(
            "Next reply at risk"
        )
        await sara.get_by_test_id("resolve").click()
        await v.expect("resolved")
        await expect(entry(mina, conv)).to_have_count(0)
        await expect(sara.get_by_test_id("escalation")).to_have_count(0)
        assert problems == []
    finally:
        await store.close()
        for c in clients:
            await c.close()
        for page in (sara, mina):
            await page.context.close()


async def test_the_dashboard_raises_the_unowned_alarm(browser: Browser, live: LiveServer) -> None:
    site = "lost"
    # No capacity: the chat stays queued.
    await add_agent(live, "mina@lost.test", "Mina", site, role="supervisor", capacity=0)
    problems: list[str] = []
    dash = await new_page(browser, problems)
    store = Store.from_url(live.redis_url)
    v: cl.Client | None = None
    try:
        await log_in(dash, live.base_url, "mina@lost.test")
        v, conv, _ = await visitor_with_ts(live, site, "Hello?", name="Omid")
        await v.expect("queue")
        await dash.goto(f"{live.base_url}/dashboard")
        await expect(dash.get_by_test_id("live")).to_have_text("Live")
        await expect(dash.get_by_test_id("queue-count")).to_have_text("1")
        quiet = dash.get_by_test_id("unowned-count")
        await expect(quiet).to_have_text("Unowned chats: 0")
        alarm = dash.get_by_test_id("unowned-alarm")
        await expect(alarm).to_be_hidden()

        # A lost write: the chat is open, nobody holds it and no queue has it.
        key = store.k.queue(site, "")
        score = await store.r.zscore(key, conv)
        assert score is not None
        await store.r.zrem(key, conv)
        await expect(alarm).to_be_visible()  # on the next dashboard frame
        await expect(alarm).to_have_attribute("role", "alert")
        await expect(dash.get_by_test_id("unowned-title")).to_have_text(
            "1 chat has no agent and no place in the queue"
        )
        link = alarm.get_by_test_id("unowned-link")
        await expect(link).to_have_text(conv)
        await expect(link).to_have_attribute("href", f"/agent#watch={conv}")
        await expect(alarm.locator("li")).to_contain_text("Omid")
        await expect(quiet).to_have_text("Unowned chats: 1")

        # The link opens it in the console, watched.
        async with dash.context.expect_page() as opened:
            await link.click()
        console = await opened.value
        watch_all(console, problems)
        await expect(console.get_by_test_id("watch-holder")).to_have_text(
            "In the queue: nobody has this chat yet"
        )
        await expect(console.get_by_test_id("thread-title")).to_have_text("Omid")
        await console.close()

        # Repaired: the alarm goes on the next frame.
        await store.r.zadd(key, {conv: score})
        await expect(alarm).to_be_hidden()
        await expect(quiet).to_have_text("Unowned chats: 0")
        assert problems == []
    finally:
        await store.close()
        if v is not None:
            await v.close()
        await dash.context.close()
