"""Visitor context for the agent on real sockets and a real Redis: the visit count (a new
visit after 30 minutes without activity), the pages of this visit (in order, capped, a
reload not listed twice, emptied by a new visit), online or gone, live in the agent's
``visitor`` frames; and erasure and retention delete the pages.

The visit gap is tested by the clock the scripts are given (store calls take ``now``) or, on
the live server, by moving the visitor's last activity back 31 minutes in Redis: nothing
here waits half an hour.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from chatserver.core.visits import PAGES_KEPT, VISIT_GAP_MS
from chatserver.embedded_redis import EmbeddedRedis
from chatserver.privacy import Person, erase_person
from chatserver.retention import Retention
from chatserver.store import Store
from tests import client as cl
from tests.integration.test_api import Api, cli_key
from tests.servers import LiveServer

SITE = "demo"
T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC
MINUTE = 60_000
DAY_MS = 86_400_000


@pytest.fixture
async def store(redis_server: EmbeddedRedis) -> AsyncIterator[Store]:
    store = Store.from_url(redis_server.url)
    await store.update_site(SITE, {"name": "Demo"})
    yield store
    await store.close()


async def hello(store: Store, vid: str, now: int, url: str = "", keep: int = 0) -> tuple[int, int]:
    """A hello of visitor ``vid`` at ``now`` on page ``url``, as visitor_ws stores it."""
    fields = {"id": vid, "site": SITE, "created_at": str(T0), "last_seen": str(now)}
    return await store.visitor_seen(SITE, vid, fields, keep, now, (url, f"Title of {url}"))


async def context(store: Store, vid: str, now: int) -> dict[str, Any]:
    (ctx,) = await store.visitor_context(SITE, [vid], now)
    return ctx


def urls(ctx: dict[str, Any]) -> list[str]:
    return [p["url"] for p in ctx["pages"]]


async def test_a_visit_ends_after_the_gap_by_the_scripts_clock(store: Store) -> None:
    assert await hello(store, "v_1", T0, "https://shop.test/") == (1, T0)
    # Ten minutes later (a reload, another tab): the same visit, its page added.
    assert await hello(store, "v_1", T0 + 10 * MINUTE, "https://shop.test/a") == (1, T0)
    assert await store.visitor_page(SITE, "v_1", T0 + 20 * MINUTE, 0, ("https://shop.test/b", ""))
    assert urls(await context(store, "v_1", T0)) == [
        "https://shop.test/b",
        "https://shop.test/a",
        "https://shop.test/",
    ]
    # The gap counts from the last activity (the page at +20), not from the first hello.
    assert await hello(store, "v_1", T0 + 20 * MINUTE + VISIT_GAP_MS, "") == (1, T0)
    back = T0 + 20 * MINUTE + 2 * VISIT_GAP_MS + 1
    assert await hello(store, "v_1", back, "https://shop.test/c") == (2, back)
    assert urls(await context(store, "v_1", back)) == ["https://shop.test/c"]  # emptied
    record = await store.load_visitor(SITE, "v_1")
    assert record is not None
    assert (record["visits"], record["visit_started"]) == ("2", str(back))


async def test_an_open_socket_keeps_the_visit_going(store: Store) -> None:
    # Presence expires by Redis's own clock: this test's times are today's.
    start = int(time.time() * 1000) - 3 * VISIT_GAP_MS
    await hello(store, "v_2", start, "https://shop.test/")
    # A socket of theirs is still open on some node (an idle tab), long past the gap.
    late = start + 3 * VISIT_GAP_MS
    await store.visitors_present(SITE, ["v_2"], "n_other", late + MINUTE)
    assert await hello(store, "v_2", late, "https://shop.test/x") == (1, start)
    ctx = await context(store, "v_2", late)
    assert ctx["online"] is True and ctx["left_at"] is None
    await store.visitor_gone(SITE, "v_2", "n_other")
    await store.visitor_page(SITE, "v_2", late + 5, 0)  # their socket closed (lifecycle.py)
    ctx = await context(store, "v_2", late + 10)
    assert ctx["online"] is False and ctx["left_at"] == late + 5


async def test_a_stale_copy_of_the_record_does_not_undo_a_count(store: Store) -> None:
    await hello(store, "v_3", T0)
    back = T0 + 2 * VISIT_GAP_MS
    await hello(store, "v_3", back)
    # A slow hello of another tab writes the record as it read it before the count.
    stale = {"id": "v_3", "visits": "1", "visit_started": str(T0), "last_active": str(T0)}
    assert await store.visitor_seen(SITE, "v_3", stale, 0, back + 1) == (2, back)


async def test_pages_are_capped_and_a_reload_is_not_listed_twice(store: Store) -> None:
    await hello(store, "v_4", T0, "https://shop.test/0")
    await hello(store, "v_4", T0 + 1, "https://shop.test/0")  # a reload
    await store.visitor_page(SITE, "v_4", T0 + 2, 0, ("https://shop.test/0", "again"))
    assert urls(await context(store, "v_4", T0)) == ["https://shop.test/0"]
    for i in range(1, 40):
        await store.visitor_page(SITE, "v_4", T0 + 10 + i, 0, (f"https://shop.test/{i}", ""))
    ctx = await context(store, "v_4", T0)
    assert urls(ctx) == [f"https://shop.test/{i}" for i in range(39, 39 - PAGES_KEPT, -1)]
    assert [p["ts"] for p in ctx["pages"]][:2] == [T0 + 49, T0 + 48]
    # Going back to an earlier page is a new entry: only an immediate repeat is dropped.
    await store.visitor_page(SITE, "v_4", T0 + 60, 0, ("https://shop.test/38", ""))
    assert urls(await context(store, "v_4", T0))[:3] == [
        "https://shop.test/38",
        "https://shop.test/39",
        "https://shop.test/38",
    ]


async def test_pages_expire_with_the_record_and_are_not_recreated(store: Store) -> None:
    keep = 7 * DAY_MS
    await hello(store, "v_5", T0, "https://shop.test/", keep=keep)
    assert 0 < await store.r.pttl(store.k.visitor_pages(SITE, "v_5")) <= keep
    # A page of a visitor whose record is gone writes nothing (no record without expiry).
    assert not await store.visitor_page(SITE, "v_gone", T0, keep, ("https://shop.test/", ""))
    assert not await store.r.exists(store.k.visitor(SITE, "v_gone"))
    assert not await store.r.exists(store.k.visitor_pages(SITE, "v_gone"))


async def test_erasure_and_retention_delete_the_pages(store: Store) -> None:
    await hello(store, "v_6", T0, "https://shop.test/private")
    pages = store.k.visitor_pages(SITE, "v_6")
    assert await store.r.exists(pages)
    erased = await erase_person(store, SITE, Person(visitor_id="v_6"), ("a_1", "Admin"), T0 + 1)
    assert erased.visitors == 1
    assert not await store.r.exists(pages)
    assert await store.load_visitor(SITE, "v_6") is None

    # Retention: a chat that ended long ago takes the visitor's record, and their pages.
    await store.update_site(SITE, {"retention_days": "7"})
    await hello(store, "v_7", T0, "https://shop.test/old", keep=7 * DAY_MS)
    _, conv = await store.open_conversation(SITE, "v_7", T0, visitor_name="V")
    await store.resolve(SITE, conv, "visitor", "v_7", "V", T0 + MINUTE)
    await store.r.persist(store.k.visitor_pages(SITE, "v_7"))  # outlives its own expiry
    retention = Retention(store, store.get_site, lambda: 0, "n_test")
    assert (await retention.run_site(SITE, T0 + 30 * DAY_MS)).conversations == 1
    assert await store.load_visitor(SITE, "v_7") is None
    assert not await store.r.exists(store.k.visitor_pages(SITE, "v_7"))


async def visitor_frame(agent: cl.Client, test: Any) -> dict[str, Any]:
    frame = await agent.expect("visitor", lambda f: test(f["visitor"]))
    return frame["visitor"]  # type: ignore[no-any-return]


async def test_the_agent_sees_the_visit_live(live_server: LiveServer, tmp_path: Path) -> None:
    live = live_server
    live.add_agent("ann@example.com", name="Ann")
    agent, _ = await cl.agent(live.ws_url, live.login("ann@example.com"))
    page0 = {"url": "https://shop.test/", "title": "فروشگاه", "referrer": ""}
    v, welcome = await cl.visitor(live.ws_url, page=page0)
    vid = welcome["visitor_id"]
    await v.send({"type": "message", "client_id": cl.client_id(), "text": "سلام"})
    assigned = await agent.expect("assigned")
    summary = assigned["conversation"]["visitor"]
    assert summary["visits"] == 1 and summary["visit_started"] is not None

    # Page frames append in order, newest first; a reload of the newest is not listed again.
    for i in (1, 2, 2, 3):
        await v.send({"type": "page", "page": {"url": f"https://shop.test/p{i}", "title": f"P{i}"}})
        seen = await visitor_frame(agent, lambda x, i=i: x["page"]["url"].endswith(f"p{i}"))
    assert seen["online"] is True and seen["left_at"] is None
    assert [p["url"] for p in seen["pages"]] == [
        "https://shop.test/p3",
        "https://shop.test/p2",
        "https://shop.test/p1",
        "https://shop.test/",
    ]
    assert [p["title"] for p in seen["pages"]][-1] == "فروشگاه"

    # The tab closes: the agent sees them gone, and when.
    await v.close()
    gone = await visitor_frame(agent, lambda x: x["online"] is False)
    assert gone["left_at"] is not None and gone["visits"] == 1

    # Back within the gap: the same visit, online again, the new page on top.
    v, _ = await cl.visitor(
        live.ws_url, token=welcome["token"], page={"url": "https://shop.test/p4", "title": "P4"}
    )
    back = await visitor_frame(agent, lambda x: x["online"] is True)
    assert back["visits"] == 1 and len(back["pages"]) == 5
    await v.close()
    await visitor_frame(agent, lambda x: x["online"] is False)

    # 31 minutes without activity (their last activity moved back, as the clock would).
    store = Store.from_url(live.redis_url)
    try:
        record = await store.load_visitor(SITE, vid)
        assert record is not None
        past = str(int(record["last_active"]) - VISIT_GAP_MS - MINUTE)
        await store.r.hset(store.k.visitor(SITE, vid), mapping={"last_active": past})
    finally:
        await store.close()
    v, _ = await cl.visitor(
        live.ws_url, token=welcome["token"], page={"url": "https://shop.test/p5", "title": "P5"}
    )
    new_visit = await visitor_frame(agent, lambda x: x["online"] is True)
    assert new_visit["visits"] == 2
    assert [p["url"] for p in new_visit["pages"]] == ["https://shop.test/p5"]
    assert new_visit["visit_started"] > summary["visit_started"]

    # The REST API's visitor says the same (checked against the published schema).
    key = await asyncio.to_thread(
        cli_key, live, tmp_path, "read", "add", "--name", "CRM", "--site", SITE
    )
    api = Api(live.base_url, key)
    rest = await api("GET", f"/api/v1/visitors/{vid}")
    assert (rest["visits"], rest["online"], rest["left_at"]) == (2, True, None)
    assert rest["pages"] == new_visit["pages"]
    await v.close()
    await visitor_frame(agent, lambda x: x["online"] is False)
    rest = await api("GET", f"/api/v1/visitors/{vid}")
    assert rest["online"] is False and rest["left_at"] >= rest["pages"][0]["ts"]
    for c in (v, agent):
        await c.close()
    assert [line for node in live.nodes for line in node.crashes()] == []


async def test_online_is_seen_from_another_node(live_server: LiveServer) -> None:
    live = live_server
    other = live.start_node()
    live.add_agent("bob@example.com", name="Bob")
    agent, _ = await cl.agent(live.ws_url, live.login("bob@example.com"))
    # Two tabs of the visitor, each on its own node; the agent on the first.
    v1, welcome = await cl.visitor(other.ws_url, page={"url": "https://shop.test/1"})
    await v1.send({"type": "message", "client_id": cl.client_id(), "text": "hi"})
    await agent.expect("assigned")
    v2, _ = await cl.visitor(
        live.ws_url, token=welcome["token"], page={"url": "https://shop.test/2"}
    )
    seen = await visitor_frame(agent, lambda x: len(x["pages"]) == 2)
    assert seen["online"] is True
    # One tab closes: still online (the other node holds a socket); then the other.
    await v2.close()
    still = await visitor_frame(agent, lambda x: x["page"]["url"].endswith("/2"))
    assert still["online"] is True
    await v1.close()
    gone = await visitor_frame(agent, lambda x: x["online"] is False)
    assert gone["left_at"] is not None and gone["visits"] == 1
    await agent.close()


def console_get(live: LiveServer, path: str, token: str) -> tuple[int, Any]:
    req = urllib.request.Request(live.base_url + path, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


async def test_the_console_endpoint_answers_for_its_own_site_only(live_server: LiveServer) -> None:
    live = live_server
    live.add_agent("sara@example.com", name="Sara")
    live.add_agent("mallory@example.com", name="Mallory", site="other")
    v, welcome = await cl.visitor(live.ws_url, page={"url": "https://shop.test/", "title": "خانه"})
    vid = welcome["visitor_id"]
    sara = await asyncio.to_thread(live.login, "sara@example.com")
    status, body = await asyncio.to_thread(console_get, live, f"/api/console/visitors/{vid}", sara)
    assert status == 200, body
    assert (body["id"], body["visits"], body["online"]) == (vid, 1, True)
    assert body["pages"][0]["title"] == "خانه"
    mallory = await asyncio.to_thread(live.login, "mallory@example.com")
    for token, path, want in (
        (mallory, f"/api/console/visitors/{vid}", 404),  # another site's visitor: not found
        (sara, "/api/console/visitors/v_nobody", 404),
        (sara, "/api/console/visitors/not-an-id", 404),
        ("nope", f"/api/console/visitors/{vid}", 401),
    ):
        status, body = await asyncio.to_thread(console_get, live, path, token)
        assert status == want, (path, status, body)
        assert "pages" not in body
    await v.close()
