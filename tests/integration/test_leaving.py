"""Agents who leave take no new chats; who watches is not routed; sign-in does not stall a node.

Found by an outside test: for 20-30 s after an agent closed the console or signed out, new
visitors were still assigned to them ("You're chatting with Root") while a free colleague sat
idle; supervisors landed online at sign-in; a sign-in hashed its password on the event loop.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request

import redis

from chatserver.auth import hash_password
from chatserver.events import AgentStatus
from chatserver.keys import Keys
from tests import client as cl
from tests.servers import LiveServer

K = Keys()


def agent_state(live: LiveServer, agent_id: str) -> tuple[dict[str, str], bool]:
    r = redis.Redis.from_url(live.redis_url, decode_responses=True)
    try:
        state: dict[str, str] = r.hgetall(K.agent_state("demo", agent_id))
        return state, bool(r.exists(K.presence("demo", agent_id)))
    finally:
        r.close()


async def until_online(live: LiveServer, agent_id: str) -> None:
    for _ in range(200):
        state, present = agent_state(live, agent_id)
        if state.get("status") == "online" and present:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{agent_id} is not online with a socket open: {state}")


async def new_chat(live: LiveServer) -> tuple[cl.Client, dict[str, object]]:
    v, _ = await cl.visitor(live.ws_url)
    await v.send({"type": "message", "client_id": cl.client_id(), "text": "hello?"})
    return v, await v.expect("assigned", timeout=15)


async def test_an_agent_whose_last_socket_closes_gets_no_new_chat(live_server: LiveServer) -> None:
    live = live_server
    ann = live.add_agent("ann@example.com", name="Ann")
    bob = live.add_agent("bob@example.com", name="Bob")
    b, _ = await cl.agent(live.ws_url, live.login("bob@example.com"))
    first, assigned = await new_chat(live)  # Bob now holds one chat: Ann would be preferred
    assert assigned["agent"]["id"] == bob  # type: ignore[index]
    a, _ = await cl.agent(live.ws_url, live.login("ann@example.com"))
    _, ann_before = agent_state(live, ann)
    assert ann_before
    await a.close()
    # Ann's last socket is gone: the next visitor goes to Bob at once, not to Ann.
    v, assigned = await new_chat(live)
    assert assigned["agent"]["id"] == bob  # type: ignore[index]
    state, present = agent_state(live, ann)
    assert state["status"] == "offline" and not present
    for c in (v, first, b):
        await c.close()


async def test_a_reload_keeps_the_agent_and_their_chats(live_server: LiveServer) -> None:
    live = live_server
    ann = live.add_agent("ann@example.com", name="Ann")
    token = live.login("ann@example.com")
    a, _ = await cl.agent(live.ws_url, token)
    v, assigned = await new_chat(live)
    conv_id = str(assigned["conversation_id"])
    await a.close()
    a2, welcome = await cl.agent(live.ws_url, token)
    assert [c["id"] for c in welcome["conversations"]] == [conv_id]
    # The new socket's hello is recorded after whatever the old one's departure wrote.
    await until_online(live, ann)
    v2, assigned2 = await new_chat(live)
    assert assigned2["agent"]["id"] == ann  # type: ignore[index]
    for c in (a2, v, v2):
        await c.close()


async def test_an_agent_still_connected_to_another_node_stays_routable(
    live_server: LiveServer,
) -> None:
    live = live_server
    node2 = live.start_node()
    ann = live.add_agent("ann@example.com", name="Ann", capacity=5)
    token = live.login("ann@example.com")
    a1, _ = await cl.agent(live.ws_url, token)
    a2, _ = await cl.agent(node2.ws_url, token)
    await a1.close()
    # Node 1 marks Ann offline; node 2, which still has her socket, records her again.
    await until_online(live, ann)
    v, assigned = await new_chat(live)
    assert assigned["agent"]["id"] == ann  # type: ignore[index]
    await a2.expect("assigned")
    for c in (a2, v):
        await c.close()


async def test_supervisors_take_chats_only_once_they_say_so(live_server: LiveServer) -> None:
    live = live_server
    sup = live.add_agent("sup@example.com", name="Sue", role="supervisor")
    s = await cl.Client.connect(
        f"{live.ws_url}/ws/agent",
        headers={"Authorization": f"Bearer {live.login('sup@example.com')}"},
    )
    await s.send({"type": "hello", "cursors": {}})  # no status: the role decides
    welcome = await s.expect("welcome")
    assert welcome["agent"]["status"] == "away"
    v, _ = await cl.visitor(live.ws_url)
    await v.send({"type": "message", "client_id": cl.client_id(), "text": "anyone?"})
    await v.expect("queue")  # queued: nobody who takes chats is online
    await s.send({"type": "status", "status": "online"})
    assigned = await v.expect("assigned", timeout=15)
    assert assigned["agent"]["id"] == sup
    for c in (s, v):
        await c.close()


async def test_no_status_frame_before_welcome(live_server: LiveServer) -> None:
    live = live_server
    live.add_agent("ann@example.com", name="Ann")
    c = await cl.Client.connect(
        f"{live.ws_url}/ws/agent",
        headers={"Authorization": f"Bearer {live.login('ann@example.com')}"},
    )
    await c.send({"type": "hello", "cursors": {}, "status": "online"})
    await c.send({"type": "ping"})
    await c.expect("pong")  # answered after the hello: what the hello caused came before
    types = [f["type"] for f in c.frames]
    assert "status" not in types[: types.index("welcome")], types
    await c.close()


async def test_the_first_message_gets_no_unrequested_synced(live_server: LiveServer) -> None:
    live = live_server
    live.add_agent("ann@example.com", name="Ann")
    a, _ = await cl.agent(live.ws_url, live.login("ann@example.com"))
    for _ in range(10):
        v, _ = await cl.visitor(live.ws_url)
        await v.send({"type": "message", "client_id": cl.client_id(), "text": "hi"})
        await v.expect("ack")
        await v.expect("assigned")
        await v.send({"type": "ping"})
        await v.expect("pong")  # a later marker: anything before it has arrived
        assert not v.of_type("synced"), v.frames
        await v.send({"type": "resolve"})
        await v.expect("resolved")
        await v.close()
    await a.close()


def _login(base_url: str, email: str, password: str) -> int:
    req = urllib.request.Request(
        base_url + "/api/login",
        data=json.dumps({"email": email, "password": password}).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code


async def test_sign_ins_do_not_stall_the_node(live_server: LiveServer) -> None:
    """40 concurrent sign-ins (wrong passwords, unknown emails) while a visitor pings: the
    node keeps answering. The bound is relative to what one hash costs on this machine."""
    live = live_server
    live.add_agent("ann@example.com", name="Ann")
    started = time.perf_counter()
    hash_password("x" * 12)
    one_hash = time.perf_counter() - started
    v, _ = await cl.visitor(live.ws_url)
    delays: list[float] = []
    done = asyncio.Event()

    async def ping() -> None:
        while not done.is_set():
            sent = time.perf_counter()
            await v.send({"type": "ping"})
            await v.expect("pong")
            delays.append(time.perf_counter() - sent)
            await asyncio.sleep(0.06)  # under the frame rate limit

    pinger = asyncio.create_task(ping())
    emails = [f"nobody{i}@example.com" for i in range(36)] + ["ann@example.com"] * 4
    codes = await asyncio.gather(
        *(asyncio.to_thread(_login, live.base_url, e, "wrong-password") for e in emails)
    )
    done.set()
    await pinger
    assert set(codes) == {401}
    # On the loop, every ping that lands during a hash waits for it (40 hashes: most pings);
    # off the loop a ping waits for nothing of the kind.
    stalled = [d for d in delays if d > one_hash / 2]
    assert len(stalled) <= 1, (stalled, one_hash, len(delays))
    await v.close()


async def test_a_capacity_change_shows_in_the_next_status_frame(live_server: LiveServer) -> None:
    """Sockets on two nodes: the other node's heartbeat may re-assert the old capacity in the
    routing state for a moment; the status frame still says what the admin set."""
    from chatserver.store import Store

    live = live_server
    # Heartbeats every second make the race with a reload likely.
    live.nodes[0].stop()
    live.nodes.clear()
    live.start_node({"CHATSERVER_PRESENCE_TTL": "3"})
    node2 = live.start_node({"CHATSERVER_PRESENCE_TTL": "3"})
    ann = live.add_agent("ann@example.com", name="Ann", capacity=3)
    token = live.login("ann@example.com")
    a1, _ = await cl.agent(live.ws_url, token)
    a2, _ = await cl.agent(node2.ws_url, token)
    store = Store.from_url(live.redis_url)
    try:
        for i in range(30):
            capacity = 4 + i
            for c in (a1, a2):
                await c.send({"type": "ping"})
                await c.expect("pong")
                c.frames.clear()
            await store.update_account(ann, {"capacity": str(capacity)})
            await store.account_changed("demo", ann)
            # Each node records the reloaded account and rings the bell: every socket gets a
            # status frame per node, and each must show the new capacity. (A frame the
            # previous round's bell started may still arrive after the pong: it was read
            # before this change and shows what was true then, so it is passed over; the two
            # this change rings must both show the new capacity, or the wait times out.)
            for c in (a1, a2):
                for _ in range(2):
                    status = await c.expect("status", lambda f, n=capacity: f["capacity"] >= n)
                    assert status["capacity"] == capacity, (i, status)
        # What a heartbeat of a node that had not reloaded yet writes: the old capacity in the
        # routing state. The next status frame still shows the account's.
        r = redis.Redis.from_url(live.redis_url, decode_responses=True)
        r.hset(K.agent_state("demo", ann), "capacity", "3")
        r.close()
        # ... and the doorbell that node A's own record rang meanwhile.
        await store.publish("demo", AgentStatus(ann, "online"))
        for c in (a1, a2):
            status = await c.expect("status")
            assert status["capacity"] == capacity, status
    finally:
        await store.close()
    for c in (a1, a2):
        await c.close()
