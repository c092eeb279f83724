"""Failover under load on a Redis Cluster: the primary that holds site A's slot is SIGKILLed
while visitors and agents of two sites chat across two server processes at a steady pace.

The clients are the chaos test's: every message waits in an outbox until acknowledged and is
resent with the same client id after an error or a reconnect, which resumes from the last id
seen. Afterwards every acknowledged message is in its conversation once and reached the other
side once and in order, every conversation is resolved, and site B (its slot on another
primary) kept being acknowledged while A's shard failed over. Both outages are printed
(``pytest -s``) and quoted in docs/scaling.md.

Each shard has two replicas and the server runs with ``CHATSERVER_DURABILITY=replica``: an
acknowledgement then means a replica holds the message, so the promoted one has it (the
cluster promotes the replica with the most data), and the new primary still has a replica to
confirm the writes that follow. With one replica and the ``memory`` promise a message
acknowledged in the last milliseconds before the kill may be lost by design.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from chatserver.core.follow import parse_id
from chatserver.keys import Keys
from tests.integration.test_chaos import Agent, Visitor
from tests.servers import LiveServer, ServerProcess, report
from tests.topologies import RedisCluster, debian_redis

K = Keys()
NODE_ENV = {
    "CHATSERVER_DURABILITY": "replica",
    "CHATSERVER_DURABILITY_TIMEOUT_MS": "1000",
    # An agent answers every message of up to three chats, each at the visitors' pace, and
    # resends its backlog after the failover: above the default 20 frames/s of one socket.
    "CHATSERVER_FRAMES_PER_SECOND": "100",
    "CHATSERVER_FRAME_BURST": "300",
}
CHATS_PER_SITE = 3
PACE = 0.05  # seconds between a visitor's messages
MAX_PENDING = 20  # a visitor's unacknowledged messages before it waits
WARM_UP = 3.0
AFTER_RECOVERY = 3.0


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisCluster]:
    binary = debian_redis()
    if binary is None:
        pytest.skip("Debian's redis-server (make test installs it) is missing")
    nodes = RedisCluster(tmp_path_factory.mktemp("cluster"), binary, replicas=2)
    try:
        nodes.start()
    except RuntimeError as exc:  # e.g. redis-cli missing beside redis-server
        nodes.stop()
        pytest.skip(str(exc))
    yield nodes
    nodes.stop()


class Clock:
    """When things happened on the event loop's clock, per site."""

    def __init__(self) -> None:
        self.acks: dict[str, list[float]] = {}

    @staticmethod
    def now() -> float:
        return asyncio.get_running_loop().time()


class SiteVisitor(Visitor):
    """A chaos visitor of ``site`` on one fixed server node, sending every PACE seconds."""

    def __init__(
        self, live: LiveServer, rng: random.Random, n: int, site: str, node: ServerProcess
    ) -> None:
        super().__init__(live, rng, n)
        self.site, self.node = site, node
        self.clock: Clock | None = None
        self.sent_at: dict[str, float] = {}  # client id -> first sent
        self.acked_at: dict[str, float] = {}

    def endpoint(self) -> str:
        return f"{self.node.ws_url}/ws/visitor?site={self.site}"

    async def talk(self) -> None:
        while self.talking:
            await asyncio.sleep(PACE)
            if len(self.outbox) < MAX_PENDING and self.connected.is_set():
                self.sent += 1
                cid = f"{self.site}-v{self.n}-{self.sent}"
                self.outbox[cid] = {"type": "message", "client_id": cid, "text": cid}
                self.sent_at[cid] = Clock.now()
                await self.send(self.outbox[cid])

    async def on_frame(self, f: dict[str, Any]) -> None:
        if f["type"] == "ack" and self.clock is not None:
            self.clock.acks.setdefault(self.site, []).append(Clock.now())
            self.acked_at.setdefault(f["client_id"], Clock.now())
        await super().on_frame(f)


class SiteAgent(Agent):
    """A chaos agent (it answers every visitor message) on one fixed server node."""

    def __init__(
        self,
        live: LiveServer,
        rng: random.Random,
        token: str,
        agent_id: str,
        site: str,
        node: ServerProcess,
    ) -> None:
        super().__init__(live, rng, token, agent_id)
        self.site, self.node = site, node
        self.clock: Clock | None = None
        self.resolved: set[str] = set()

    def endpoint(self) -> str:
        return f"{self.node.ws_url}/ws/agent?token={self.token}"

    async def on_frame(self, f: dict[str, Any]) -> None:
        if f["type"] == "ack" and self.clock is not None:
            self.clock.acks.setdefault(self.site, []).append(Clock.now())
        elif f["type"] == "resolved":
            self.resolved.add(f["conversation_id"])
        await super().on_frame(f)


def pick_sites(cluster: RedisCluster) -> tuple[str, str]:
    """Site A on a primary that holds none of the global keys the chat path reads, site B on
    another primary."""
    r = cluster.client()
    try:
        shard = lambda key: r.get_node_from_key(key).name  # noqa: E731
        globals_ = {shard(K.sites()), shard(K.sites_version())}
        names = [f"site{i}" for i in range(64)]
        a = next(s for s in names if shard(K.site(s)) not in globals_)
        b = next(s for s in names if shard(K.site(s)) != shard(K.site(a)))
        return a, b
    finally:
        r.close()


def _ordered(ids: list[str]) -> bool:
    keys = [parse_id(i) for i in ids]
    return all(x < y for x, y in itertools.pairwise(keys))


async def test_a_shard_fails_over_under_load(cluster: RedisCluster, tmp_path: Path) -> None:
    cluster.flush()
    site_a, site_b = pick_sites(cluster)
    r = cluster.client()
    for site in (site_a, site_b):
        r.hset(K.site(site), mapping={"name": site, "allowed_origins": "*"})
        r.sadd(K.sites(), site)
    live = LiveServer(cluster, tmp_path / "server")  # type: ignore[arg-type]
    try:
        await run_failover(live, cluster, r, site_a, site_b)
    finally:
        r.close()
        live.stop()


async def run_failover(
    live: LiveServer, cluster: RedisCluster, r: redis.RedisCluster, site_a: str, site_b: str
) -> None:
    one = await asyncio.to_thread(live.start_node, NODE_ENV)
    two = await asyncio.to_thread(live.start_node, NODE_ENV)
    rng, clock = random.Random(16), Clock()
    visitors: list[SiteVisitor] = []
    agents: list[SiteAgent] = []
    for site in (site_a, site_b):
        for i in range(2):
            email = f"agent{i}@{site}.example.com"
            agent_id = live.add_agent(email, name=f"Agent {i}", capacity=3, site=site)
            token = live.login(email)
            agents.append(SiteAgent(live, rng, token, agent_id, site, (one, two)[i % 2]))
        for i in range(CHATS_PER_SITE):
            # Each chat crosses the two processes: the agents sit on both.
            visitors.append(SiteVisitor(live, rng, i, site, (two, one)[i % 2]))
    sims: list[Visitor | Agent] = [*agents, *visitors]
    for sim in sims:
        sim.clock = clock  # type: ignore[union-attr]
    tasks = [asyncio.create_task(s.run()) for s in sims]
    tasks += [asyncio.create_task(v.talk()) for v in visitors]
    try:
        await check(live, cluster, r, site_a, site_b, visitors, agents, clock)
    finally:
        for s in sims:
            s.stopped = True
            s.cut()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for node in live.nodes:
        assert not node.crashes(), node.crashes()


async def wait_for(what: str, ok: Any, timeout: float, why: Any = None) -> None:
    """Poll ``ok()`` until true (every step it waits for is a state the clients reach);
    ``why()`` says what is still missing when it times out."""
    end = Clock.now() + timeout
    while not ok():
        assert Clock.now() < end, f"timed out waiting for {what}: {why() if why else ''}"
        await asyncio.sleep(0.05)


async def check(
    live: LiveServer,
    cluster: RedisCluster,
    r: redis.RedisCluster,
    site_a: str,
    site_b: str,
    visitors: list[SiteVisitor],
    agents: list[SiteAgent],
    clock: Clock,
) -> None:
    a_visitors = [v for v in visitors if v.site == site_a]
    await wait_for("every visitor acknowledged", lambda: all(v.acked for v in visitors), 30)
    await asyncio.sleep(WARM_UP)  # the steady load runs for a while before the kill
    victim = cluster.primary_of(K.site(site_a))
    assert victim.port != cluster.primary_of(K.site(site_b)).port
    victim.kill()
    killed = Clock.now()
    try:
        # Site A is back when a message first sent after the kill is acknowledged.
        def recovered() -> float | None:
            times = [
                v.acked_at[cid]
                for v in a_visitors
                for cid, at in v.sent_at.items()
                if at > killed and cid in v.acked_at
            ]
            return min(times) if times else None

        await wait_for("site A acknowledged again", lambda: recovered() is not None, 40)
        back = recovered()
        assert back is not None
        await asyncio.sleep(AFTER_RECOVERY)  # and chats on for a while on the new primary
        assert cluster.primary_of(K.site(site_a)).port != victim.port
    finally:
        victim.start()  # back as a replica of the promoted node
    for v in visitors:
        v.talking = False  # no new messages; the outboxes still drain

    b_acks = [t for t in clock.acks.get(site_b, []) if killed <= t <= back]
    b_marks = [killed, *b_acks, back]
    b_gap = max(y - x for x, y in itertools.pairwise(b_marks))
    outage_a = back - killed

    def unsettled() -> str:
        for s in [*agents, *visitors]:
            if s.outbox:
                return (
                    f"{type(s).__name__} {s.site} outbox {sorted(s.outbox)[:3]}, "
                    f"connected {s.connected.is_set()}, errors {s.errors[-3:]}, "
                    f"trace {s.trace[-6:]}"
                )
        for v in visitors:
            assert v.conv_id is not None
            keeper = holder(v)
            if keeper is None:
                return f"{v.conv_id} has no agent of ours"
            entries = r.xrange(K.messages(v.site, v.conv_id))
            if {m for m, f in entries if f.get("k") == "agent"} - set(v.received[v.conv_id]):
                return f"visitor {v.site}/{v.n} lacks agent messages"
            if {m for m, f in entries if f.get("k") == "visitor"} - set(
                keeper.received.get(v.conv_id, [])
            ):
                return f"{keeper.agent_id} lacks visitor messages of {v.conv_id}"
        return ""

    def holder(v: SiteVisitor) -> SiteAgent | None:
        assert v.conv_id is not None
        held = r.hget(K.conversation(v.site, v.conv_id), "agent")
        return next((a for a in agents if a.agent_id == held), None)

    await wait_for(
        "the outboxes drained and everything delivered", lambda: not unsettled(), 40, unsettled
    )

    async def resolve() -> None:
        for v in visitors:
            keeper = holder(v)
            assert keeper is not None and v.conv_id is not None
            if r.hget(K.conversation(v.site, v.conv_id), "status") != "resolved":
                await keeper.send({"type": "resolve", "conversation_id": v.conv_id})

    def unresolved() -> str:
        for v in visitors:
            status = r.hget(K.conversation(v.site, v.conv_id or ""), "status")
            if status != "resolved" or not any(v.conv_id in a.resolved for a in agents):
                keeper = holder(v)
                return (
                    f"{v.conv_id} is {status}; agents told {[sorted(a.resolved) for a in agents]};"
                    f" its agent's errors {keeper.errors[-3:] if keeper else None}, trace "
                    f"{keeper.trace[-6:] if keeper else None}"
                )
        return ""

    # Every conversation ends explicitly: its agent resolves it (again if the socket was
    # between connections and the frame went nowhere), both sides are told.
    end = Clock.now() + 20
    while why_not := unresolved():
        assert Clock.now() < end, f"not every conversation resolved: {why_not}"
        await resolve()
        await asyncio.sleep(0.5)

    acked = lost = duplicated = disordered = 0
    why: list[str] = []
    for v in visitors:
        assert v.conv_id is not None
        entries = r.xrange(K.messages(v.site, v.conv_id))
        stored: dict[str, int] = {}
        for _, fields in entries:
            if fields.get("c"):
                stored[fields["c"]] = stored.get(fields["c"], 0) + 1
        duplicated += sum(n - 1 for n in stored.values())
        for sim in [v, *agents]:
            for cid, (conv_id, mid) in sim.acked.items():
                if conv_id != v.conv_id:
                    continue
                acked += 1
                if stored.get(cid) != 1:
                    lost += 1
                    why.append(f"acked {cid} ({mid}) stored {stored.get(cid, 0)} times")
        got = v.received.get(v.conv_id, [])
        disordered += not _ordered(got)
        keeper = holder(v)
        assert keeper is not None
        disordered += not _ordered(keeper.received.get(v.conv_id, []))
    duplicated += sum(s.duplicates for s in [*agents, *visitors])
    b_during = len(b_acks)

    report(
        f"cluster failover under load: {len(visitors)} chats on 2 sites, a message every "
        f"{PACE * 1000:.0f} ms per visitor; site {site_a}'s primary {victim.port} SIGKILLed: "
        f"{site_a} acknowledged again after {outage_a:.1f}s; {site_b} acknowledged {b_during} "
        f"messages meanwhile, its longest gap {b_gap:.2f}s"
    )
    report(
        f"cluster failover under load: acknowledged {acked}, lost {lost}, duplicated "
        f"{duplicated}, out of order {disordered}"
    )
    for line in why[:20]:
        report(f"cluster failover: {line}")
    await asyncio.to_thread(cluster.wait_ready)
    assert acked > 200
    assert (lost, duplicated, disordered) == (0, 0, 0)
    assert b_during > 0
