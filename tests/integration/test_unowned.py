"""The dashboard's invariant: open conversations with neither an owner nor a queue entry.

Staged by removing a conversation's queue entry and its agent's load entry directly in
Redis (what a lost write would leave), then read the way the dashboard and /metrics read it;
a row that moved on since it was read is not reported."""

from __future__ import annotations

import asyncio
import urllib.request
from pathlib import Path

from chatserver.embedded_redis import EmbeddedRedis
from chatserver.store import Store
from tests import client as cl
from tests.servers import LiveServer


async def test_unowned_conversations_are_found_and_only_those(
    redis_server: EmbeddedRedis, tmp_path: Path
) -> None:
    live = LiveServer(redis_server, tmp_path / "server")
    # No sweep during the test: it would repair what the test breaks on purpose.
    live.start_node({"CHATSERVER_SWEEP_INTERVAL": "3600"})
    try:
        await staged(live)
    finally:
        live.stop()


def scrape(base: str) -> str:
    with urllib.request.urlopen(base + "/metrics", timeout=10) as resp:
        return str(resp.read().decode())


async def staged(live: LiveServer) -> None:
    ann = live.add_agent("ann@example.com", name="Ann", capacity=1)
    agent, _ = await cl.agent(live.ws_url, live.login("ann@example.com"))
    held, _ = await cl.visitor(live.ws_url)
    await held.send({"type": "message", "client_id": "h1", "text": "first"})
    held_conv = (await held.expect("ack"))["conversation_id"]
    await agent.expect("assigned")
    queued, _ = await cl.visitor(live.ws_url)
    await queued.send({"type": "message", "client_id": "q1", "text": "second"})
    queued_conv = (await queued.expect("ack"))["conversation_id"]
    await queued.expect("queue")  # Ann is full: it waits

    store = Store.from_url(live.redis_url)
    try:
        k = store.k
        assert (await store.live_state("demo")).unowned == []
        await store.r.zrem(k.queue("demo", ""), queued_conv)
        await store.r.srem(k.agent_conversations("demo", ann), held_conv)
        live_state = await store.live_state("demo")
        assert sorted(live_state.unowned) == sorted([queued_conv, held_conv])
        # A row read before the conversation moved on is re-checked, not reported.
        stale = [{**c, "status": "queued"} for c in live_state.open_convs if c["id"] == held_conv]
        assert await store.unowned("demo", stale) == []
        metrics = await asyncio.to_thread(scrape, live.base_url)
        assert 'chatserver_conversations_unowned{site="demo"} 2.0' in metrics
    finally:
        await store.close()
    for c in (agent, held, queued):
        await c.close()
