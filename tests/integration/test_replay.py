"""Replay of long conversations, paced by the reader: fast, slow, and after a too-slow close.

A 20,000-message conversation is far longer than a socket's outbound queue (512 frames by
default): the replay must wait for the socket instead of overflowing it, and a reader that
fell behind and was closed must get everything it missed when it resumes from its cursor.
"""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

import redis
import websockets

from chatserver.keys import Keys
from chatserver.messages import Outgoing
from chatserver.store import Store
from tests import client as cl
from tests.servers import LiveServer, report

K = Keys()
LONG = 20_000


def stream_ids(live: LiveServer, conv_id: str) -> list[str]:
    r = redis.Redis.from_url(live.redis_url, decode_responses=True)
    try:
        return [entry_id for entry_id, _ in r.xrange(K.messages("demo", conv_id))]
    finally:
        r.close()


async def bulk(live: LiveServer, conv_id: str, visitor_id: str, count: int, tag: str) -> None:
    """Store ``count`` visitor messages with the server's own script (each one published)."""
    store = Store.from_url(live.redis_url)
    try:
        for start in range(0, count, 500):
            await asyncio.gather(
                *(
                    store.send_message(
                        Outgoing(
                            "demo", conv_id, "visitor", visitor_id, "V", f"{tag}-{i}", f"n{i}", 1
                        )
                    )
                    for i in range(start, min(count, start + 500))
                )
            )
    finally:
        await store.close()


async def open_chat(live: LiveServer, email: str) -> tuple[cl.Client, cl.Client, str, str]:
    # The agent never answers here, and a slow machine takes longer than the default
    # response target over these tests: its breach entry would land in the stream mid-check.
    store = Store.from_url(live.redis_url)
    try:
        await store.update_site("demo", {"sla_first_response_s": "86400"})
    finally:
        await store.close()
    live.add_agent(email, name="Sara", capacity=5)
    agent, _ = await cl.agent(live.ws_url, live.login(email))
    v, welcome = await cl.visitor(live.ws_url)
    await v.send({"type": "message", "client_id": "first", "text": "hi"})
    conv_id = (await v.expect("ack"))["conversation_id"]
    await agent.expect("assigned")
    await agent.expect("synced", lambda f: f["conversation_id"] == conv_id)
    return v, agent, conv_id, welcome["visitor_id"]


async def read_until(
    ws: Any, conv_id: str, last_id: str, per_frame: float = 0.0
) -> tuple[list[str], int]:
    """Message ids of ``conv_id`` received until both ``last_id`` and the replay's ``synced``
    arrived (in either order: live messages sent during the replay are merged into it, so
    whether they come before or after ``synced`` depends on how fast the replay ran); and
    how many synced."""
    ids: list[str] = []
    synced = 0
    while not (ids and ids[-1] == last_id and synced):
        raw = await asyncio.wait_for(ws.recv(), 30)
        frame = json.loads(raw)
        if frame.get("type") == "message" and frame["conversation_id"] == conv_id:
            ids.append(frame["id"])
        elif frame.get("type") == "synced":
            synced += 1
        if per_frame:
            await asyncio.sleep(per_frame)
    return ids, synced


async def test_long_conversation_replays_to_fast_and_slow_readers(
    live_server: LiveServer,
) -> None:
    live = live_server
    v, agent, conv_id, visitor_id = await open_chat(live, "sara@example.com")
    # The chat's own sockets go: 20,000 live messages in a burst would rightly overflow them.
    await agent.close()
    await v.close()
    await bulk(live, conv_id, visitor_id, LONG, "b")
    token = live.login("sara@example.com")

    # A fast reader: a second console tab with no cursors gets the whole conversation.
    fast, _ = await cl.agent(live.ws_url, token)
    # A slow reader: the visitor on another device, reading one frame every 2 ms, while the
    # chat goes on (live messages arrive during its replay and must merge, once).
    slow = await websockets.connect(
        f"{live.ws_url}/ws/visitor?site=demo", max_queue=4, compression=None, ping_interval=None
    )
    await slow.send(json.dumps({"type": "hello", "token": v.token}))
    assert json.loads(await slow.recv())["type"] == "welcome"

    async def live_traffic() -> None:
        await asyncio.sleep(1.0)
        await bulk(live, conv_id, visitor_id, 200, "live")

    traffic = asyncio.create_task(live_traffic())
    await fast.expect("synced", lambda f: f["conversation_id"] == conv_id, timeout=120)
    await traffic
    ids = stream_ids(live, conv_id)
    assert len(ids) >= LONG + 200
    got_slow, synced = await read_until(slow, conv_id, ids[-1], per_frame=0.002)
    # Exactly the stream (the visitor sees every entry here: no notes), once, in order.
    assert got_slow == ids
    assert synced == 1
    fast_ids = [f["id"] for f in fast.of_type("message") if f["conversation_id"] == conv_id]
    for last in ids[len(fast_ids) :]:
        await fast.expect("message", lambda f, last=last: f.get("id") == last)
        fast_ids.append(last)
    assert fast_ids == ids
    assert "slow_consumer_disconnected" not in live.nodes[0].log_text()
    report(f"replayed {len(ids)} messages to a fast and a slow reader")
    await slow.close()
    await fast.close()


def small_buffer_socket(port: int) -> socket.socket:
    """A client socket with a tiny receive buffer: stopping reading stalls the server soon."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.setblocking(False)
    return sock


async def stalled_agent(live: LiveServer, token: str) -> tuple[Any, list[str]]:
    ws = await websockets.connect(
        f"{live.ws_url}/ws/agent",
        additional_headers={"Authorization": f"Bearer {token}"},
        sock=small_buffer_socket(live.nodes[0].port),
        max_queue=1,
        compression=None,
        ping_interval=None,
    )
    await ws.send(json.dumps({"type": "hello", "cursors": {}}))
    ids = []
    while (frame := json.loads(await ws.recv())).get("type") != "synced":
        if frame.get("type") == "message":
            ids.append(frame["id"])
    return ws, ids


async def test_a_reader_closed_as_too_slow_resumes_and_misses_nothing(
    live_server: LiveServer,
) -> None:
    live = live_server
    live.nodes[0].stop()
    live.nodes.clear()
    node = live.start_node({"CHATSERVER_OUTBOUND_QUEUE": "64"})
    v, agent, conv_id, visitor_id = await open_chat(live, "sara@example.com")
    token = live.login("sara@example.com")
    # Two more consoles of Sara's stop reading: one will read again, one never does.
    pausing, seen = await stalled_agent(live, token)
    deaf, _ = await stalled_agent(live, token)
    await bulk(live, conv_id, visitor_id, LONG, "b")
    for _ in range(600):
        if node.log_text().count("slow_consumer_disconnected") >= 2:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the stalled readers were never found too slow")

    # The pausing reader reads again: what was already on its way, then the close code.
    try:
        while True:
            frame = json.loads(await asyncio.wait_for(pausing.recv(), 30))
            if frame.get("type") == "message" and frame["conversation_id"] == conv_id:
                seen.append(frame["id"])
    except websockets.ConnectionClosed:
        pass
    assert pausing.close_code == 4009
    ids = stream_ids(live, conv_id)
    assert seen == ids[: len(seen)] and len(seen) < len(ids)

    # It resumes from its cursor and receives exactly the rest, once, in order.
    resumed, _ = await cl.agent(live.ws_url, token, cursors={conv_id: seen[-1]})
    await resumed.expect("synced", lambda f: f["conversation_id"] == conv_id, timeout=120)
    rest = [f["id"] for f in resumed.of_type("message") if f["conversation_id"] == conv_id]
    assert rest == ids[len(seen) :]
    report(f"too slow at {len(seen)} of {len(ids)}; resumed with {len(rest)}")

    # The reader that never read again was closed too: what reached it ends with the close
    # (4009, or 1006 if it stayed deaf past the close timeout and was dropped).
    try:
        while True:
            await asyncio.wait_for(deaf.recv(), 30)
    except websockets.ConnectionClosed:
        pass
    assert deaf.close_code in (1006, 4009)
    assert not node.crashes()
    await resumed.close()
    await agent.close()
    await v.close()
