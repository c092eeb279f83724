"""Chaos: two servers on one Redis while nodes die, Redis restarts and sockets drop.

Simulated visitors and agents chat the way the real clients do: every message waits in an
outbox until acknowledged and is resent with the same client id after a reconnect, and every
reconnect resumes from the last id seen. Meanwhile one server is SIGKILLed and restarted,
Redis is restarted (append-only), random sockets are cut, and one agent leaves for good. At
the end every acknowledged message must have reached the other side exactly once and in
order, every conversation must be resolved or openly waiting where an online agent sees it,
and every agent's load must be the truth and within capacity.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import websockets

from chatserver.core.follow import parse_id
from chatserver.embedded_redis import EmbeddedRedis
from chatserver.keys import Keys
from tests.servers import LiveServer, report

K = Keys()
SITE = "demo"
NODE_ENV = {"CHATSERVER_PRESENCE_TTL": "3", "CHATSERVER_SWEEP_INTERVAL": "2"}
VISITORS = 16
AGENTS = 6
CAPACITY = 4
CHAOS_SECONDS = 24
PERMANENT = {"forbidden", "conversation_closed", "not_found", "invalid_field"}


class Sim:
    """One simulated client: reconnects, resumes, and resends its outbox until acked."""

    def __init__(self, live: LiveServer, rng: random.Random) -> None:
        self.live = live
        self.rng = rng
        self.ws: Any = None
        self.outbox: dict[str, dict[str, Any]] = {}  # client_id -> frame, until acked
        self.acked: dict[str, tuple[str, str]] = {}  # client_id -> (conversation, stored id)
        self.received: dict[str, list[str]] = {}  # conversation -> ids in arrival order
        # Ids seen since the conversation was (re)assigned to this client: a repeat within
        # one assignment is a duplicate; a new assignment replays the history on purpose.
        self.epoch: dict[str, set[str]] = {}
        self.duplicates = 0
        self.stopped = False
        self.connected = asyncio.Event()
        self.errors: list[dict[str, Any]] = []
        self.trace: list[str] = []  # what happened, for the report of a failure

    def url(self) -> str:
        nodes = [n for n in self.live.nodes if n.proc is not None and n.proc.poll() is None]
        return self.rng.choice(nodes).ws_url

    def cursor(self, conv_id: str) -> str | None:
        ids = self.received.get(conv_id)
        return ids[-1] if ids else None

    async def run(self) -> None:
        while not self.stopped:
            try:
                async with websockets.connect(self.endpoint(), open_timeout=5) as ws:
                    self.ws = ws
                    self.trace.append(f"{asyncio.get_running_loop().time():.1f} connected")
                    await ws.send(json.dumps(self.hello()))
                    async for raw in ws:
                        await self.on_frame(json.loads(raw))
            except (OSError, websockets.WebSocketException, TimeoutError, IndexError):
                pass
            finally:
                self.trace.append(f"{asyncio.get_running_loop().time():.1f} disconnected")
                self.ws = None
                self.connected.clear()
            await asyncio.sleep(0.2 + self.rng.random() * 0.5)

    async def send(self, frame: dict[str, Any]) -> None:
        if self.ws is not None and self.connected.is_set():
            with contextlib.suppress(websockets.WebSocketException):
                await self.ws.send(json.dumps(frame))

    async def flush_outbox(self) -> None:
        for frame in list(self.outbox.values()):
            await self.send(frame)

    def on_message(self, f: dict[str, Any]) -> bool:
        """Record a delivery; False if this client already had the message."""
        conv_id, mid = f["conversation_id"], f["id"]
        epoch = self.epoch.setdefault(conv_id, set())
        if mid in epoch:
            self.duplicates += 1
        epoch.add(mid)
        ids = self.received.setdefault(conv_id, [])
        if mid in ids:
            return False
        ids.append(mid)
        return True

    async def on_common(self, f: dict[str, Any]) -> None:
        if f["type"] not in ("message", "ack", "typing", "queue", "pong"):
            self.trace.append(
                f"{asyncio.get_running_loop().time():.1f} {f['type']} "
                f"{f.get('conversation_id', '')} {f.get('reason', f.get('code', ''))}"
            )
        if f["type"] == "ack":
            self.outbox.pop(f["client_id"], None)
            self.acked[f["client_id"]] = (f["conversation_id"], f["id"])
        elif f["type"] == "error":
            self.errors.append(f)
            ref = f.get("ref")
            if ref in self.outbox and f.get("code") in PERMANENT:
                self.outbox.pop(ref)
            elif ref in self.outbox:  # e.g. Redis unreachable: nothing stored, try again
                asyncio.get_running_loop().call_later(
                    0.5, lambda: asyncio.ensure_future(self.retry(ref))
                )
        elif f["type"] == "reconnect":
            await self.ws.close()

    async def retry(self, client_id: str) -> None:
        if client_id in self.outbox:
            await self.send(self.outbox[client_id])

    def cut(self) -> None:
        """The network drops: the socket dies without a goodbye."""
        if self.ws is not None:
            self.ws.transport.abort()

    def endpoint(self) -> str:
        raise NotImplementedError

    def hello(self) -> dict[str, Any]:
        raise NotImplementedError

    async def on_frame(self, f: dict[str, Any]) -> None:
        raise NotImplementedError


class Visitor(Sim):
    def __init__(self, live: LiveServer, rng: random.Random, n: int) -> None:
        super().__init__(live, rng)
        self.n = n
        self.token: str | None = None
        self.conv_id: str | None = None
        self.sent = 0
        self.talking = True

    def endpoint(self) -> str:
        return f"{self.url()}/ws/visitor?site={SITE}"

    def hello(self) -> dict[str, Any]:
        frame: dict[str, Any] = {"type": "hello"}
        if self.token:
            frame["token"] = self.token
        if self.conv_id and self.cursor(self.conv_id):
            frame["cursor"] = self.cursor(self.conv_id)
        return frame

    async def on_frame(self, f: dict[str, Any]) -> None:
        if f["type"] == "welcome":
            self.token = f["token"]
            self.connected.set()
            await self.flush_outbox()
            if f.get("conversation"):
                self.conv_id = f["conversation"]["id"]
        elif f["type"] == "message":
            self.conv_id = f["conversation_id"]
            self.on_message(f)
        elif f["type"] == "ack":
            self.conv_id = f["conversation_id"]
        await self.on_common(f)

    async def talk(self) -> None:
        while self.talking:
            await asyncio.sleep(0.4 + self.rng.random() * 0.8)
            if len(self.outbox) < 3:
                self.sent += 1
                cid = f"v{self.n}-{self.sent}"
                self.outbox[cid] = {"type": "message", "client_id": cid, "text": cid}
                await self.send(self.outbox[cid])


class Agent(Sim):
    def __init__(self, live: LiveServer, rng: random.Random, token: str, agent_id: str) -> None:
        super().__init__(live, rng)
        self.token = token
        self.agent_id = agent_id
        self.answered: set[str] = set()
        self.replies = 0

    def endpoint(self) -> str:
        return f"{self.url()}/ws/agent?token={self.token}"

    def hello(self) -> dict[str, Any]:
        cursors = {c: ids[-1] for c, ids in self.received.items() if ids}
        return {"type": "hello", "cursors": cursors, "status": "online"}

    async def on_frame(self, f: dict[str, Any]) -> None:
        if f["type"] == "welcome":
            self.connected.set()
            await self.flush_outbox()
        elif f["type"] == "assigned":
            self.epoch[f["conversation_id"]] = set()
        elif f["type"] == "message":
            self.on_message(f)
            if f["from"] == "visitor" and f["id"] not in self.answered:
                self.answered.add(f["id"])
                self.replies += 1
                cid = f"{self.agent_id}-{self.replies}"
                frame = {
                    "type": "message",
                    "conversation_id": f["conversation_id"],
                    "client_id": cid,
                    "text": f"re {f['text']}",
                }
                self.outbox[cid] = frame
                await self.send(frame)
        await self.on_common(f)


@pytest.fixture
def chaos(redis_server: EmbeddedRedis, tmp_path: Path) -> Iterator[LiveServer]:
    r = redis.Redis.from_url(redis_server.url, decode_responses=True)
    r.hset(K.site(SITE), mapping={"name": SITE, "allowed_origins": "*", "agent_grace_s": 2})
    r.sadd(K.sites(), SITE)
    r.close()
    live = LiveServer(redis_server, tmp_path / "server")
    live.start_node(NODE_ENV)
    live.start_node(NODE_ENV)
    yield live
    live.stop()


def _ordered(ids: list[str]) -> bool:
    keys = [parse_id(i) for i in ids]
    return all(a < b for a, b in itertools.pairwise(keys))


async def test_chaos_every_acknowledged_message_arrives_once_in_order(chaos: LiveServer) -> None:
    live, rng = chaos, random.Random(7)
    agent_ids = [
        live.add_agent(f"agent{i}@example.com", name=f"Agent {i}", capacity=CAPACITY)
        for i in range(AGENTS)
    ]
    agents = [
        Agent(live, rng, live.login(f"agent{i}@example.com"), agent_ids[i]) for i in range(AGENTS)
    ]
    visitors = [Visitor(live, rng, i) for i in range(VISITORS)]
    tasks = [asyncio.create_task(s.run()) for s in [*agents, *visitors]]
    tasks += [asyncio.create_task(v.talk()) for v in visitors]
    events: list[str] = []

    async def faults() -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        done: set[str] = set()
        while loop.time() - start < CHAOS_SECONDS:
            await asyncio.sleep(1)
            t = loop.time() - start
            rng.choice([*agents, *visitors]).cut()
            if t > 5 and "kill" not in done:
                done.add("kill")
                victim = live.nodes.pop(0)
                victim.kill()
                events.append(f"{t:.0f}s: SIGKILL one server")
                await asyncio.sleep(1.5)
                await asyncio.to_thread(live.start_node, NODE_ENV)
                events.append(f"{loop.time() - start:.0f}s: server restarted")
            elif t > 11 and "redis" not in done:
                done.add("redis")
                await asyncio.to_thread(live.redis.stop)
                await asyncio.sleep(0.5)
                await asyncio.to_thread(live.redis.start)
                events.append(f"{t:.0f}s: Redis restarted (append-only)")
            elif t > 16 and "agent" not in done:
                done.add("agent")
                leaver = agents[-1]
                leaver.stopped = True
                leaver.cut()
                events.append(f"{t:.0f}s: {leaver.agent_id} left for good")

    await faults()
    for v in visitors:
        v.talking = False  # no new messages; the outboxes still drain

    r = redis.Redis.from_url(live.redis_url, decode_responses=True)
    live_agents = agents[:-1]

    def unsettled() -> str:
        """Why the run has not settled yet ('' once it has)."""
        for s in [*live_agents, *visitors]:
            if s.outbox:
                return f"{type(s).__name__} outbox {sorted(s.outbox)[:3]}"
        for v in visitors:
            if v.conv_id is None:
                return f"visitor {v.n} has no conversation"
            conv = r.hgetall(K.conversation(SITE, v.conv_id))
            keeper = next((a for a in live_agents if a.agent_id == conv.get("agent")), None)
            if keeper is None:
                return f"{v.conv_id} is {conv.get('status')} with {conv.get('agent') or 'nobody'}"
            entries = r.xrange(K.messages(SITE, v.conv_id))
            if {m for m, f in entries if f.get("k") == "agent"} - set(v.received[v.conv_id]):
                return f"visitor {v.n} lacks agent messages"
            if {m for m, f in entries if f.get("k") == "visitor"} - set(
                keeper.received.get(v.conv_id, [])
            ):
                return (
                    f"{keeper.agent_id} lacks visitor messages of {v.conv_id}; "
                    f"status {conv.get('status')} assigned_at {conv.get('assigned_at')}; "
                    f"has {len(keeper.received.get(v.conv_id, []))} of "
                    f"{sum(1 for _, f in entries if f.get('k') == 'visitor')}; "
                    f"trace {keeper.trace[-12:]}"
                )
        return ""

    settle_start = asyncio.get_running_loop().time()
    why_not = "?"
    for _ in range(200):
        why_not = unsettled()
        if not why_not:
            break
        await asyncio.sleep(0.2)
    if why_not:
        events.append(f"not settled: {why_not}")
    events.append(f"settled in {asyncio.get_running_loop().time() - settle_start:.1f}s")

    # Who is online, read while the sockets are still open: an agent whose last socket
    # closes is offline at once (no new chats), so after the cut below nobody is.
    present = {a for a in agent_ids if r.exists(K.presence(SITE, a))}
    for s in [*agents, *visitors]:
        s.stopped = True
        s.cut()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)

    # --- the counts ---------------------------------------------------------------------
    lost = duplicated = disordered = acked_total = 0
    why: list[str] = []
    stream_ids: dict[str, list[str]] = {}
    for v in visitors:
        assert v.conv_id is not None, f"visitor {v.n} never got an ack"
        entries = r.xrange(K.messages(SITE, v.conv_id))
        stream_ids[v.conv_id] = [mid for mid, _ in entries]
        by_client: dict[str, int] = {}
        for _, fields in entries:
            if fields.get("c"):
                by_client[fields["c"]] = by_client.get(fields["c"], 0) + 1
        duplicated += sum(n - 1 for n in by_client.values())
        # Each side's acknowledged messages are in the stream once...
        for sim in [v, *agents]:
            for cid, (conv_id, _) in sim.acked.items():
                if conv_id == v.conv_id:
                    acked_total += 1
                    if by_client.get(cid) != 1:
                        lost += 1
                        why.append(f"acked {cid} stored {by_client.get(cid)} times")
        # ... and reached the visitor once, in order.
        got = v.received.get(v.conv_id, [])
        duplicated += v.duplicates
        disordered += 0 if _ordered(got) else 1
        agent_msgs = [mid for mid, f in entries if f.get("k") == "agent"]
        missing = set(agent_msgs) - set(got)
        lost += len(missing)
        if missing:
            why.append(
                f"visitor {v.n} {v.conv_id} lacks {len(missing)} agent messages; "
                f"outbox {sorted(v.outbox)}; errors {v.errors[-3:]}; trace {v.trace[-10:]}; "
                f"received {len(v.received.get(v.conv_id, []))}, connected {v.connected.is_set()}"
            )
    for a in agents:
        duplicated += a.duplicates
        for got in a.received.values():
            disordered += 0 if _ordered(got) else 1
    # The agent holding each conversation at the end has every visitor message of it.
    for v in visitors:
        assert v.conv_id is not None
        holder = r.hget(K.conversation(SITE, v.conv_id), "agent")
        keeper = next((a for a in agents if a.agent_id == holder), None)
        visitor_msgs = {
            mid for mid, f in r.xrange(K.messages(SITE, v.conv_id)) if f.get("k") == "visitor"
        }
        if keeper is not None:
            missing = visitor_msgs - set(keeper.received.get(v.conv_id, []))
            lost += len(missing)
            if missing:
                why.append(f"{keeper.agent_id} lacks {len(missing)} of {v.conv_id}")

    # --- every conversation in an explicit state an online agent can see ------------------
    unseen = 0
    queued = {
        cid
        for dept in r.smembers(K.departments(SITE))
        for cid in r.zrange(K.queue(SITE, dept), 0, -1)
    }
    for v in visitors:
        assert v.conv_id is not None
        conv = r.hgetall(K.conversation(SITE, v.conv_id))
        status = conv["status"]
        if status in ("assigned", "waiting_on_agent", "waiting_on_visitor"):
            unseen += conv["agent"] not in present
        elif status == "queued":
            unseen += v.conv_id not in queued
        else:
            assert status in ("resolved", "missed", "abandoned"), status
    over = drift = 0
    for a in agent_ids:
        load = r.smembers(K.agent_conversations(SITE, a))
        over += len(load) > CAPACITY
        truth = {
            v.conv_id
            for v in visitors
            if v.conv_id
            and r.hget(K.conversation(SITE, v.conv_id), "agent") == a
            and r.hget(K.conversation(SITE, v.conv_id), "status")
            in ("assigned", "waiting_on_agent", "waiting_on_visitor")
        }
        drift += load != truth
    leaver_holds = r.scard(K.agent_conversations(SITE, agents[-1].agent_id))
    r.close()

    report("chaos: " + "; ".join(events))
    report(
        f"chaos: acknowledged {acked_total}, lost {lost}, duplicated {duplicated}, "
        f"out of order {disordered}, conversations {len(visitors)}, not visible to an "
        f"online agent {unseen}, agents over capacity {over}, loads drifted {drift}, "
        f"chats still held by the agent who left {leaver_holds}"
    )
    for line in why[:20]:
        report(f"chaos: {line}")
    for node in live.nodes:
        assert not node.crashes(), node.crashes()
    assert acked_total > 100
    assert (lost, duplicated, disordered) == (0, 0, 0)
    assert (unseen, over, drift, leaver_holds) == (0, 0, 0, 0)
