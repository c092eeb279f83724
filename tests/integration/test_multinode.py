"""Two server processes on one Redis behave as one server."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import redis

from chatserver.keys import Keys
from tests import client as cl
from tests.servers import LiveServer

K = Keys()


async def test_visitor_on_one_node_agent_on_the_other(live_server: LiveServer) -> None:
    node2 = live_server.start_node()
    live_server.add_agent("omid@example.com", name="Omid")
    agent, _ = await cl.agent(node2.ws_url, live_server.login("omid@example.com"))
    v, _ = await cl.visitor(live_server.nodes[0].ws_url)
    await v.send({"type": "message", "client_id": "x1", "text": "hello from node 1"})
    conv_id = (await v.expect("ack"))["conversation_id"]
    await agent.expect("assigned", lambda f: f["conversation_id"] == conv_id)
    got = await agent.expect("message", lambda f: f.get("client_id") == "x1")
    assert got["text"] == "hello from node 1"
    await agent.send(
        {"type": "message", "conversation_id": conv_id, "client_id": "y1", "text": "hi from 2"}
    )
    reply = await v.expect("message", lambda f: f.get("client_id") == "y1")
    assert reply["text"] == "hi from 2"
    # Typing crosses nodes too (not stored).
    await v.send({"type": "typing", "state": True, "preview": "I ord"})
    typing = await agent.expect("typing")
    assert typing["preview"] == "I ord" and typing["from"] == "visitor"


async def test_race_50_agents_500_visitors_two_nodes(live_server: LiveServer) -> None:
    """No conversation held by two agents, no agent over capacity, whatever the races."""
    await routing_race(
        live_server, redis.Redis.from_url(live_server.redis_url, decode_responses=True)
    )


async def routing_race(live_server: LiveServer, r: Any) -> None:
    """The race's body, for any Redis topology: ``r`` is a synchronous client of the Redis
    the servers use (closed at the end), which the test reads the invariants from."""
    node2 = live_server.start_node()
    nodes = [live_server.nodes[0], node2]
    capacity = 5
    emails = [f"agent{i}@example.com" for i in range(50)]
    for email in emails:
        live_server.add_agent(email, name=email.split("@")[0], capacity=capacity)
    tokens = [live_server.login(e) for e in emails]

    async def visitor(i: int) -> tuple[cl.Client, str]:
        v, _ = await cl.visitor(nodes[i % 2].ws_url)
        await v.send({"type": "message", "client_id": f"v{i}", "text": f"visitor {i}"})
        ack = await v.expect("ack", timeout=60)
        return v, ack["conversation_id"]

    async def agent(i: int) -> cl.Client:
        a, _ = await cl.agent(nodes[(i + 1) % 2].ws_url, tokens[i])
        return a

    # Agents and visitors arrive together so both nodes route concurrently.
    results = await asyncio.gather(
        *(visitor(i) for i in range(500)), *(agent(i) for i in range(50))
    )
    visitors = results[:500]
    agents: list[cl.Client] = results[500:]  # type: ignore[assignment]

    # Agents also grab queued chats by hand, racing the auto-assignment and each other.
    conv_ids = [cid for _, cid in visitors]
    for a in agents:
        for cid in random.sample(conv_ids, 20):
            await a.send({"type": "claim", "conversation_id": cid})
    # Wait (bounded) until routing has filled every slot; then check the invariants.
    for _ in range(200):
        held = sum(r.scard(K.agent_conversations("demo", a)) for a in r.smembers(K.agents("demo")))
        if held >= 50 * capacity:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)  # let in-flight claims land too
    try:
        holders: dict[str, list[str]] = {}
        agent_ids = sorted(r.smembers(K.agents("demo")))
        assert len(agent_ids) == 50
        for aid in agent_ids:
            held = r.smembers(K.agent_conversations("demo", aid))
            assert len(held) <= capacity, f"{aid} holds {len(held)}"
            for cid in held:
                holders.setdefault(cid, []).append(aid)
        double = {cid: hs for cid, hs in holders.items() if len(hs) > 1}
        assert double == {}
        assert len(holders) == 50 * capacity  # every slot filled, no more
        for cid in conv_ids:
            conv = r.hgetall(K.conversation("demo", cid))
            if cid in holders:
                # waiting_on_agent when the visitor's message landed just after the claim.
                assert conv["status"] in ("assigned", "waiting_on_agent")
                assert conv["agent"] == holders[cid][0]
                assert r.zscore(K.queue("demo", ""), cid) is None
            else:
                assert conv["status"] == "queued"
                assert r.zscore(K.queue("demo", ""), cid) is not None
    finally:
        r.close()
    # Each visitor was told of at most one agent.
    for v, _ in visitors:
        assert len(v.of_type("assigned")) <= 1
    errors = [f["code"] for a in agents for f in a.of_type("error")]
    assert set(errors) <= {"conflict", "capacity"}
    for node in nodes:
        assert node.crashes() == []
    await asyncio.gather(*(v.close() for v, _ in visitors), *(a.close() for a in agents))
