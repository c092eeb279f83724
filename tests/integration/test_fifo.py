"""First come, first served across nodes: a chat whose claim failed keeps its turn.

Two agents of capacity 1, each on its own node, always three chats waiting; both agents
resolve within milliseconds of each other, round after round. The two oldest waiting chats
must get the two free slots every time. Before the fix, a node whose view of the agents was
stale failed a claim, re-read the agents and moved on to the next chat, so a later chat could
take the agent the earlier one was waiting for (seen by an outside test in 9 of 60 rounds).
"""

from __future__ import annotations

import asyncio

import redis

from chatserver.keys import Keys
from tests import client as cl
from tests.servers import LiveServer, report

K = Keys()
ROUNDS = 100


async def test_two_nodes_serve_waiting_chats_in_arrival_order(live_server: LiveServer) -> None:
    live = live_server
    node2 = live.start_node()
    ann = live.add_agent("ann@example.com", name="Ann", capacity=1)
    bob = live.add_agent("bob@example.com", name="Bob", capacity=1)
    a, _ = await cl.agent(live.ws_url, live.login("ann@example.com"))
    b, _ = await cl.agent(node2.ws_url, live.login("bob@example.com"))
    r = redis.Redis.from_url(live.redis_url, decode_responses=True)
    visitors: list[cl.Client] = []
    waiting: list[str] = []  # conversation ids in the order they were queued

    async def arrive() -> None:
        # Alternate the nodes the visitors come through, as a load balancer would.
        url = live.ws_url if len(visitors) % 2 else node2.ws_url
        v, _ = await cl.visitor(url)
        await v.send({"type": "message", "client_id": cl.client_id(), "text": "hello"})
        conv_id = (await v.expect("ack"))["conversation_id"]
        visitors.append(v)
        waiting.append(conv_id)

    def held(agent_id: str) -> list[str]:
        return sorted(r.smembers(K.agent_conversations("demo", agent_id)))

    async def until(check: object, what: str) -> None:
        for _ in range(400):
            if check():  # type: ignore[operator]
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"timed out waiting for {what}")

    # Both agents busy, then three chats waiting, queued one after the other.
    for _ in range(2):
        await arrive()
    await until(lambda: held(ann) and held(bob), "both agents busy")
    waiting.clear()
    inversions = 0
    for _ in range(3):
        await arrive()
    for round_no in range(ROUNDS):
        await until(lambda: r.zcard(K.queue("demo", "")) == 3, "three chats queued")
        first_two, last = waiting[:2], waiting[2]
        mine, theirs = held(ann)[0], held(bob)[0]
        await a.send({"type": "resolve", "conversation_id": mine})
        # Within a few milliseconds of each other, a different gap each round.
        await asyncio.sleep((round_no % 8) / 1000)
        await b.send({"type": "resolve", "conversation_id": theirs})
        await until(lambda: r.zcard(K.queue("demo", "")) == 1, f"round {round_no} assigned")
        taken = set(held(ann) + held(bob))
        if taken != set(first_two):
            inversions += 1
        waiting[:] = [c for c in waiting if c not in taken]
        for _ in range(2):
            await arrive()
        assert last in waiting or inversions
    report(f"fifo: {ROUNDS} rounds, {inversions} chats passed over")
    assert inversions == 0
    r.close()
    for c in [a, b, *visitors]:
        await c.close()


async def test_no_queue_frame_follows_the_assignment(live_server: LiveServer) -> None:
    """Visitors keep arriving at one node (each arrival re-reads the queue there) while the
    agents, on the other node, take them: nobody is shown a place in line after `assigned`
    (a frame that would put them back in the queue on screen)."""
    live = live_server
    node2 = live.start_node()
    for i in range(3):
        live.add_agent(f"a{i}@example.com", name=f"A{i}", capacity=20)
    tokens = [live.login(f"a{i}@example.com") for i in range(3)]
    visitors: list[cl.Client] = []
    agents: list[cl.Client] = []

    async def arrivals() -> None:
        for _ in range(45):
            v, _ = await cl.visitor(live.ws_url)
            await v.send({"type": "message", "client_id": cl.client_id(), "text": "hello"})
            visitors.append(v)
            await asyncio.sleep(0.01)

    async def agents_come() -> None:
        for token in tokens:
            await asyncio.sleep(0.15)
            agents.append((await cl.agent(node2.ws_url, token))[0])

    await asyncio.gather(arrivals(), agents_come())
    late = 0
    for v in visitors:
        for _ in range(1000):
            if v.of_type("assigned"):
                break
            await asyncio.sleep(0.01)
        await v.send({"type": "ping"})
        await v.expect("pong")  # anything the server sent before the pong has arrived
        types = [f["type"] for f in v.frames]
        late += "queue" in types[types.index("assigned") :]
    report(f"queue frames after assigned: {late} of {len(visitors)}")
    assert late == 0
    for c in [*visitors, *agents]:
        await c.close()
