"""chatserver behind a Sentinel group (REDIS_URL=redis+sentinel://…), on Debian's Redis 7 on
loopback: two nodes chat, the CLI works, and the primary SIGKILLed mid-chat (one chat sending
a message every 50 ms meanwhile) fails over to the replica with every acknowledged message
delivered once and in order afterwards; the outage (kill to the first acknowledgement) is
printed (``pytest -s``)."""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from chatserver.core.follow import parse_id
from tests import client as cl
from tests.integration.test_cluster_failover import SiteVisitor
from tests.servers import LiveServer, report
from tests.topologies import Sentinels, debian_redis

pytestmark = pytest.mark.skipif(
    debian_redis() is None, reason="Debian's redis-server (make test installs it) is missing"
)


@pytest.fixture
def group(tmp_path: Path) -> Iterator[Sentinels]:
    binary = debian_redis()
    assert binary is not None
    sentinels = Sentinels(tmp_path / "redis", binary)
    sentinels.start()
    yield sentinels
    sentinels.stop()


@pytest.fixture
def live(group: Sentinels, tmp_path: Path) -> Iterator[LiveServer]:
    servers = LiveServer(group, tmp_path / "server")  # type: ignore[arg-type]
    yield servers
    servers.stop()


def ready(base: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(base + "/readyz", timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


async def test_two_nodes_chat_and_the_cli_works(
    live: LiveServer, group: Sentinels, tmp_path: Path
) -> None:
    one, two = live.start_node(), live.start_node()
    assert ready(one.base_url)[0] == 200 and ready(two.base_url)[0] == 200
    env = {**os.environ, "REDIS_URL": live.redis_url, "CHATSERVER_DATA_DIR": str(tmp_path)}
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "chatserver", "site", "add", "shop", "--name", "Shop"],
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    r = redis.Redis(port=group.primary.port, decode_responses=True)
    assert r.hget("cs:{shop}:site", "name") == "Shop"  # written through the sentinels
    r.close()
    live.add_agent("sara@example.com", name="Sara")
    agent, _ = await cl.agent(two.ws_url, live.login("sara@example.com", base=two.base_url))
    visitor, _ = await cl.visitor(one.ws_url)
    await visitor.send({"type": "message", "client_id": "v1", "text": "سلام"})
    conv_id = (await visitor.expect("ack"))["conversation_id"]
    await agent.expect("assigned", lambda f: f["conversation_id"] == conv_id)
    await agent.expect("message", lambda f: f.get("client_id") == "v1")
    await agent.send(
        {"type": "message", "conversation_id": conv_id, "client_id": "a1", "text": "hi"}
    )
    await visitor.expect("message", lambda f: f.get("client_id") == "a1")
    await visitor.close()
    await agent.close()


async def test_the_primary_killed_mid_chat_fails_over(live: LiveServer, group: Sentinels) -> None:
    node = live.start_node()
    live.add_agent("sara@example.com", name="Sara")
    agent, _ = await cl.agent(node.ws_url, live.login("sara@example.com"))
    visitor, _ = await cl.visitor(node.ws_url)
    acked: list[str] = []
    chat: set[str] = set()  # its conversation (ids are per conversation: match both)

    async def send(n: int, deadline: float = 60.0) -> None:
        """Send message n, resending (same client id) until it is acknowledged."""
        cid = f"v{n}"
        end = time.monotonic() + deadline
        while True:
            await visitor.send({"type": "message", "client_id": cid, "text": f"message {n}"})
            try:
                got = await visitor.expect(
                    None,
                    lambda f: (
                        (f.get("type") == "ack" and f.get("client_id") == cid)
                        or (f.get("type") == "error" and f.get("ref") == cid)
                    ),
                    timeout=5,
                )
            except AssertionError:
                got = {}
            if got.get("type") == "ack":
                acked.append(got["id"])
                chat.add(got["conversation_id"])
                return
            assert time.monotonic() < end, f"message {n} was never acknowledged"
            await asyncio.sleep(0.2)

    for n in range(5):
        await send(n)
    # Under load: a second chat sends a message every 50 ms through the failover, resending
    # its unacknowledged ones after errors and reconnects (the chaos test's client).
    loaded = SiteVisitor(live, random.Random(16), 1, "demo", node)
    running = [asyncio.create_task(loaded.run()), asyncio.create_task(loaded.talk())]
    deadline = time.monotonic() + 30
    while len(loaded.acked) < 20:
        assert time.monotonic() < deadline, "the loaded chat never got going"
        await asyncio.sleep(0.05)
    old = group.primary.port
    group.primary.kill()
    killed = time.monotonic()
    await send(5)  # waits out the failover: resent until the new primary stores it
    outage = time.monotonic() - killed
    assert group.replica.port is not None
    group.wait_for_primary(group.replica.port)
    for n in range(6, 10):
        await send(n)
    assert ready(node.base_url)[0] == 200
    # Every acknowledged message reached the agent once, in order.
    got: list[str] = []
    for mid in acked:
        frame = await agent.expect(
            "message",
            lambda f, mid=mid: f.get("id") == mid and f.get("conversation_id") in chat,
            timeout=30,
        )
        got.append(frame["id"])
    assert got == acked and len(set(got)) == 10
    # The loaded chat drains: each acknowledged message stored once, at the agent once, in
    # order.
    loaded.talking = False
    deadline = time.monotonic() + 30
    while loaded.outbox:
        assert time.monotonic() < deadline, f"never acknowledged: {sorted(loaded.outbox)[:5]}"
        await asyncio.sleep(0.05)
    conv_id = loaded.conv_id
    r = redis.Redis(port=group.replica.port, decode_responses=True)
    stored = [f.get("c") for _, f in r.xrange(f"cs:{{demo}}:msgs:{conv_id}")]
    r.close()
    last = max((mid for _, mid in loaded.acked.values()), key=parse_id)
    await agent.expect(
        "message",
        lambda f: f.get("id") == last and f.get("conversation_id") == conv_id,
        timeout=30,
    )
    seen = [f["id"] for f in agent.of_type("message") if f.get("conversation_id") == conv_id]
    wanted = sorted((mid for _, mid in loaded.acked.values()), key=parse_id)
    assert [stored.count(cid) for cid in loaded.acked] == [1] * len(loaded.acked)
    assert [mid for mid in seen if mid in set(wanted)] == wanted[:-1]  # the last one consumed
    assert len(seen) == len(set(seen))
    for task in running:
        task.cancel()
    loaded.stopped = True
    loaded.cut()
    await asyncio.gather(*running, return_exceptions=True)
    report(
        f"sentinel failover: primary {old} SIGKILLed, first ack after {outage:.1f}s; a chat "
        f"sending every 50 ms meanwhile: {len(loaded.acked)} acknowledged, each stored and "
        "delivered once, in order"
    )
    # The old primary comes back as a replica of the new one: the node stays on the primary.
    group.primary.start()
    assert ready(node.base_url)[0] == 200
    await send(10)
    assert not node.crashes(), node.crashes()
    await visitor.close()
    await agent.close()
