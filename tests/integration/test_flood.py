"""One visitor sending as fast as it can is limited, then disconnected, and stores no more
than its limit allows, while a normal conversation on the same server keeps going. The normal
chat's latency before and during the flood is reported (not asserted: the machine is shared)."""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path

import websockets

from chatserver.embedded_redis import EmbeddedRedis
from tests import client as cl
from tests.servers import LiveServer, report

# Behind a "proxy" at 127.0.0.1 so that each client has its own address and the default
# limits (30 messages a minute per visitor, ...) apply.
ENV = {"CHATSERVER_TRUSTED_PROXIES": "127.0.0.1"}


async def _round_trips(visitor: cl.Client, agent: cl.Client, n: int, tag: str) -> list[float]:
    """Visitor -> agent delivery times (ms) of ``n`` messages, one at a time."""
    times = []
    for i in range(n):
        cid = f"{tag}-{i}"
        start = time.perf_counter()
        await visitor.send({"type": "message", "client_id": cid, "text": f"question {i}"})
        await agent.expect("message", lambda f, cid=cid: f.get("client_id") == cid, timeout=20)
        times.append((time.perf_counter() - start) * 1000)
        await asyncio.sleep(2.0 / n)  # a person's pace, well under the limit
    return times


async def _flood_once(ws_url: str, tally: dict[str, int]) -> None:
    """One connection sending messages as fast as it can until the server closes it."""
    c = await cl.Client.connect(
        f"{ws_url}/ws/visitor?site=demo", headers={"X-Forwarded-For": "198.51.100.66"}
    )
    await c.send({"type": "hello"})
    await c.expect("welcome")
    try:
        for i in range(2000):  # far more than the server lets through
            await c.send({"type": "message", "client_id": f"f{i}", "text": "spam"})
            tally["frames"] += 1
    except websockets.ConnectionClosed:
        pass
    for _ in range(200):
        if c.closed_code is not None:
            break
        await asyncio.sleep(0.05)
    errors = c.of_type("error")
    tally["connections"] += 1
    tally["stored"] += len(c.of_type("ack"))
    tally["rate_limited"] += sum(1 for e in errors if e["code"] == "rate_limited")
    tally["with_retry_after"] += sum(1 for e in errors if float(e.get("retry_after") or 0) > 0)
    tally["closed_4008"] += int(c.closed_code == 4008)


async def _flood(ws_url: str, stop: asyncio.Event) -> dict[str, int]:
    """A flooder that reconnects (a new visitor each time, same address) until ``stop``."""
    tally = dict.fromkeys(
        ("frames", "connections", "stored", "rate_limited", "with_retry_after", "closed_4008"), 0
    )
    while not stop.is_set():
        await _flood_once(ws_url, tally)
    return tally


async def test_a_flooder_is_cut_off_and_a_normal_chat_keeps_going(
    redis_server: EmbeddedRedis, tmp_path: Path
) -> None:
    live = LiveServer(redis_server, tmp_path / "server")
    node = live.start_node(ENV)
    try:
        live.add_agent("calm@example.com", capacity=1)
        agent, _ = await cl.agent(live.ws_url, live.login("calm@example.com"))
        visitor = await cl.Client.connect(
            f"{live.ws_url}/ws/visitor?site=demo", headers={"X-Forwarded-For": "192.0.2.1"}
        )
        await visitor.send({"type": "hello"})
        await visitor.expect("welcome")
        before = await _round_trips(visitor, agent, 10, "before")
        stop = asyncio.Event()
        flood = asyncio.create_task(_flood(live.ws_url, stop))
        during = await _round_trips(visitor, agent, 10, "during")
        stop.set()
        outcome = await flood
        after = await _round_trips(visitor, agent, 5, "after")
        report(
            f"flood: {outcome['frames']} frames queued by the flooder over "
            f"{outcome['connections']} connections, {outcome['stored']} stored, "
            f"{outcome['rate_limited']} rate_limited, {outcome['closed_4008']} closed 4008; "
            "normal chat "
            f"delivery ms median/max before {statistics.median(before):.1f}/{max(before):.1f}, "
            f"during {statistics.median(during):.1f}/{max(during):.1f}, "
            f"after {statistics.median(after):.1f}/{max(after):.1f}"
        )
        assert outcome["connections"] >= 1
        assert outcome["closed_4008"] == outcome["connections"]
        assert outcome["rate_limited"] >= outcome["connections"]
        assert outcome["with_retry_after"] == outcome["rate_limited"]
        # 30 messages per visitor, and 5 new conversations per address in 10 minutes.
        assert outcome["stored"] <= 5 * 30
        # The normal chat lost nothing: all 25 questions reached the agent (checked above).
        assert len(before) + len(during) + len(after) == 25
        await visitor.close()
        await agent.close()
    finally:
        live.stop()
    assert node.crashes() == []


async def test_a_frame_refused_by_the_frame_rate_names_its_ref(
    redis_server: EmbeddedRedis, tmp_path: Path
) -> None:
    """The refusal carries the frame's ``ref`` (protocol.md), so a client knows which of its
    unacknowledged messages to resend; a frame that does not decode has none."""
    live = LiveServer(redis_server, tmp_path / "server")
    live.start_node({"CHATSERVER_FRAMES_PER_SECOND": "0.1", "CHATSERVER_FRAME_BURST": "2"})
    try:
        visitor = await cl.Client.connect(f"{live.ws_url}/ws/visitor?site=demo")
        await visitor.send({"type": "hello"})  # the burst's first token
        await visitor.expect("welcome")
        await visitor.send({"type": "message", "client_id": "m-1", "text": "one"})
        await visitor.expect("ack", lambda f: f.get("client_id") == "m-1")
        await visitor.send({"type": "message", "client_id": "m-2", "text": "two"})
        refused = await visitor.expect("error", lambda f: f.get("code") == "rate_limited")
        assert refused["ref"] == "m-2" and refused["retry_after"] > 0
        await visitor.send("not json")
        refused = await visitor.expect("error", lambda f: f.get("code") == "rate_limited")
        assert "ref" not in refused
        await visitor.close()
    finally:
        live.stop()
