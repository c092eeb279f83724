"""The `steady` scenario: many open conversations trading messages at a target rate.

Visitors and agents connect alternately to the server processes, so most messages cross
nodes through Redis. Each visitor opens a conversation (warm-up: until every conversation is
assigned and every warm-up message has arrived), then a pacer makes visitors send at half the
target rate and each agent answers every visitor message it receives. Afterwards the run
drains: it waits until every acked message has reached the other side, or gives up.
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from bench.cluster import HOST, BenchError, Cluster, Snapshot, gen_rss_kb, snapshot
from bench.loadgen import Agent, Peer, Visitor, close_all, open_all, wait_until
from bench.report import kv, latency_rows, mb, percentiles, table
from bench.tracker import Msg, Tracker, now, quiet_gc

VISITOR_TEXT = "Hello, where is my order? It should have arrived yesterday."
TICK = 0.005


@dataclass(frozen=True, slots=True)
class SteadyConfig:
    visitors: int = 200
    agents: int = 20
    capacity: int = 0  # per agent; 0: just enough for every visitor
    rate: float = 2000.0  # messages per second, visitors' and agents' together
    duration: float = 20.0
    warmup_timeout: float = 60.0
    drain: float = 10.0
    max_inflight: int = 16  # unacked messages per visitor before the pacer skips it
    msgpack: bool = False
    connect_concurrency: int = 50
    smoke: bool = False


class Sender(Protocol):
    """A simulated visitor as the pacer sees it, whatever protocol it speaks."""

    ready: bool
    pending: dict[str, dict[str, Any]]  # sent, not yet confirmed

    def say(self, text: str, measured: bool | None = None) -> Msg: ...


class SteadyRig:
    """The clients of one protocol in the steady scenario: chatserver's own protocol here;
    a baseline subclasses it (bench/baselines/)."""

    protocol = "chatserver"
    acks = True  # the server acknowledges each message: lost = acked, never delivered

    def __init__(self, cluster: Cluster, cfg: SteadyConfig, tracker: Tracker) -> None:
        self.cluster = cluster
        self.cfg = cfg
        self.tracker = tracker
        self.nodes = [(HOST, node.port) for node in cluster.nodes]
        self.capacity = cfg.capacity or math.ceil(cfg.visitors / cfg.agents)
        self.visitors: Sequence[Sender] = []
        self.peers: list[Peer] = []
        self._tokens: list[str] = []
        self._visitors: list[Visitor] = []

    async def prepare(self) -> None:
        """Server-side set-up before any socket opens (agent accounts, logins)."""
        emails = await self.cluster.create_agents(self.cfg.agents, self.capacity)
        self._tokens = await self.cluster.login_all(emails)

    async def connect(self) -> float:
        """Open every client (``peers`` first, so that they get closed on failure); each
        visitor sends its first message. Returns when warm-up started (the agents are in);
        raises BenchError when connections fail."""
        cfg, tracker = self.cfg, self.tracker
        agents = [
            Agent(i, tracker, self.nodes, tok, cfg.msgpack) for i, tok in enumerate(self._tokens)
        ]
        visitors = [Visitor(i, tracker, self.nodes, cfg.msgpack) for i in range(cfg.visitors)]
        self._visitors = visitors
        return await self.open_peers(agents, visitors)

    async def open_peers(self, agents: Sequence[Peer], visitors: Sequence[Any]) -> float:
        """Open the agents, then the visitors (each says its first message); returns when the
        visitors started, which is when warm-up starts."""
        self.visitors = visitors
        self.peers = [*agents, *visitors]
        failures = await open_all(agents, self.cfg.connect_concurrency)
        t_warm = now()
        failures += await open_all(visitors, self.cfg.connect_concurrency, after=first_message)
        if failures:
            raise BenchError(f"{len(failures)} connections failed: {failures[:5]}")
        return t_warm

    def warm(self) -> bool:
        """Warm-up is over: every conversation assigned, every message so far delivered."""
        return self.tracker.settled() and all(v.t_assigned for v in self._visitors)

    def cold(self) -> str:
        """What is still missing when warm-up times out."""
        unassigned = sum(1 for v in self._visitors if not v.t_assigned)
        return (
            f"{unassigned} visitors unassigned, "
            f"{self.tracker.created - self.tracker.delivered} messages undelivered"
        )

    def describe(self) -> dict[str, Any]:
        """Entries for the result besides the common ones."""
        return {}


def first_message(visitor: Sender) -> None:
    visitor.say("Hi! I have a question about my order.")


async def pace(
    visitors: Sequence[Sender], rate: float, duration: float, max_inflight: int
) -> dict[str, Any]:
    """Open-loop pacer: ``rate`` visitor messages a second, round-robin over the visitors.

    ``tick_lag_ms`` is how late each tick woke up: a busy generator shows here first.
    """
    start = planned = now()
    issued = skipped = i = 0
    lags: list[float] = []
    n = len(visitors)
    while True:
        t = now()
        elapsed = t - start
        if elapsed >= duration:
            break
        lags.append(max(0.0, t - planned))
        due = int(elapsed * rate) - issued
        for _ in range(due):
            v = visitors[i]
            i = (i + 1) % n
            issued += 1
            if v.ready and len(v.pending) < max_inflight:
                v.say(VISITOR_TEXT)
            else:
                skipped += 1
        planned = t + TICK
        await asyncio.sleep(TICK)
    return {"issued": issued, "skipped": skipped, "tick_lag_ms": percentiles(lags)}


async def run_steady(
    cluster: Cluster, cfg: SteadyConfig, rig_class: type[SteadyRig] = SteadyRig
) -> dict[str, Any]:
    tracker = Tracker()
    rig = rig_class(cluster, cfg, tracker)
    await rig.prepare()
    try:
        t_warm = await rig.connect()
        warm = await wait_until(rig.warm, cfg.warmup_timeout, 0.1)
        if not warm:
            raise BenchError(f"warm-up did not finish in {cfg.warmup_timeout}s: {rig.cold()}")
        warmup_s = now() - t_warm

        with quiet_gc():
            before = await snapshot(cluster)
            t0 = now()
            tracker.measuring = True
            try:
                pacer = await pace(rig.visitors, cfg.rate / 2, cfg.duration, cfg.max_inflight)
            finally:
                tracker.measuring = False
            t1 = now()
        after = await snapshot(cluster)

        drained = await wait_until(
            lambda: tracker.settled() and (not rig.acks or tracker.acked >= tracker.created),
            cfg.drain,
        )
        drain_s = now() - t1
    finally:
        await close_all(rig.peers)
    result = summarize(tracker, t0, t1, before, after, rig.acks)
    result.update(
        scenario="steady",
        config={
            **asdict(cfg),
            "agent_capacity": rig.capacity,
            "servers": len(cluster.nodes),
            "durability": getattr(cluster, "durability", "disk"),
        },
        warmup_s=round(warmup_s, 3),
        drain_s=round(drain_s, 3),
        drained=drained,
        pacer=pacer,
        server_logs=cluster.log_summaries(),
        generator_rss_kb=gen_rss_kb(),
        **rig.describe(),
    )
    result["passed"] = result["lost"] == 0 and result["duplicated"] == 0 and result["delivered"] > 0
    return result


def summarize(
    tracker: Tracker, t0: float, t1: float, before: Snapshot, after: Snapshot, acks: bool = True
) -> dict[str, Any]:
    """The figures of a run. Without server acks (a baseline), a message counts as handled by
    the server when its echo reaches the sender, and as lost when the other side never got it.
    """
    recs = list(tracker.msgs.values())
    window = t1 - t0
    measured = [r for r in recs if r.measured]
    per_second: Counter[int] = Counter()
    delivered_window = stored_window = echoed_window = 0
    for r in recs:
        if r.t_other is not None and t0 <= r.t_other < t1:
            delivered_window += 1
            per_second[int(r.t_other - t0)] += 1
        if r.t_ack is not None and t0 <= r.t_ack < t1:
            stored_window += 1
        if r.t_echo is not None and t0 <= r.t_echo < t1:
            echoed_window += 1
    lost = [r for r in recs if (r.t_ack is not None or not acks) and r.t_other is None]
    handled_window = stored_window if acks else echoed_window
    server_cpu = [b.cpu - a.cpu for a, b in zip(before.servers, after.servers, strict=True)]
    redis_cpu = after.redis.cpu - before.redis.cpu
    gen_cpu = after.gen_cpu - before.gen_cpu
    per_k = 1000 / handled_window if handled_window else 0.0
    cmds = after.counters["total_commands"] - before.counters["total_commands"]
    evalsha = after.counters["evalsha_calls"] - before.counters["evalsha_calls"]
    evalsha_usec = after.counters["evalsha_usec"] - before.counters["evalsha_usec"]
    reads = after.counters["reads"] - before.counters["reads"]

    def per_msg(value: int, digits: int = 3) -> float | None:
        return round(value / handled_window, digits) if handled_window else None

    extra = {} if acks else {"relayed_in_window": echoed_window}
    return {
        "window_s": round(window, 3),
        "sent": tracker.created,
        "acked": tracker.acked,
        "delivered": tracker.delivered,
        "sent_in_window": len(measured),
        "stored_in_window": stored_window,
        **extra,
        "delivered_in_window": delivered_window,
        "delivered_per_s": round(delivered_window / window, 1) if window else 0.0,
        "delivered_per_second_series": [per_second[s] for s in range(int(window))],
        "latency_ms": {
            "visitor_to_agent": percentiles(
                r.t_other - r.t_send for r in measured if r.kind == "visitor" and r.t_other
            ),
            "agent_to_visitor": percentiles(
                r.t_other - r.t_send for r in measured if r.kind == "agent" and r.t_other
            ),
            "visitor_ack": percentiles(
                r.t_ack - r.t_send for r in measured if r.kind == "visitor" and r.t_ack
            ),
            "agent_ack": percentiles(
                r.t_ack - r.t_send for r in measured if r.kind == "agent" and r.t_ack
            ),
            "echo_to_sender": percentiles(r.t_echo - r.t_send for r in measured if r.t_echo),
        },
        "lost": len(lost),
        "lost_samples": [
            {"client_id": r.cid, "id": r.id, "conversation_id": r.conv} for r in lost[:10]
        ],
        "duplicated": tracker.duplicates,
        "duplicate_samples": tracker.duplicate_samples,
        "out_of_order": tracker.out_of_order,
        "echo_missing": sum(
            1 for r in recs if (r.t_ack is not None or not acks) and r.t_echo is None
        ),
        "unacked": sum(1 for r in recs if r.t_ack is None),
        "duplicate_acks": tracker.dup_acks,
        "unknown_messages": tracker.unknown,
        "errors": dict(tracker.errors),
        "handler_errors": dict(tracker.handler_errors),
        "reconnects": tracker.reconnects,
        "reconnect_failures": tracker.reconnect_failures,
        "close_codes": dict(tracker.close_codes),
        "server_cpu_s": [round(c, 3) for c in server_cpu],
        "server_cpu_s_per_1000_msgs": round(sum(server_cpu) * per_k, 4),
        "server_rss_kb_before": [s.rss_kb for s in before.servers],
        "server_rss_kb_after": [s.rss_kb for s in after.servers],
        "redis_cpu_s": round(redis_cpu, 3),
        "redis_cpu_s_per_1000_msgs": round(redis_cpu * per_k, 4),
        "redis_rss_kb_after": after.redis.rss_kb,
        "redis_evalsha_per_msg": per_msg(evalsha),
        "redis_commands_per_msg": per_msg(cmds),
        "redis_socket_reads_per_msg": per_msg(reads),
        "redis_evalsha_usec_per_msg": per_msg(evalsha_usec, 1),
        "generator_cpu_s": round(gen_cpu, 3),
        "generator_cpu_share": round(gen_cpu / window, 3) if window else None,
    }


def render_steady(r: dict[str, Any]) -> str:
    c = r["config"]
    lat = r["latency_ms"]
    acks = "relayed_in_window" not in r  # a baseline without acks reports what it relays
    head = (
        f"{r.get('title', 'steady')}: {c['visitors']} visitors, {c['agents']} agents"
        f" (capacity {c['agent_capacity']}),"
        f" {c['servers']} servers, target {c['rate']:.0f} msg/s for {c['duration']:.0f} s,"
        f" {'msgpack' if c['msgpack'] else 'json'}, durability {c.get('durability', 'disk')}"
        f"{' [smoke]' if c['smoke'] else ''}"
    )
    lat_table = table(
        latency_rows(
            "latency (ms)",
            {
                "visitor -> agent": lat["visitor_to_agent"],
                "agent -> visitor": lat["agent_to_visitor"],
                "visitor send -> ack": lat["visitor_ack"],
                "agent send -> ack": lat["agent_ack"],
                "send -> own echo": lat["echo_to_sender"],
            },
        )
    )
    cpu = r["server_cpu_s"]
    rss = ", ".join(
        f"node{i} {mb(a)} -> {mb(b)}"
        for i, (a, b) in enumerate(
            zip(r["server_rss_kb_before"], r["server_rss_kb_after"], strict=True)
        )
    )
    pacer = r["pacer"]
    logs = [s["events"] for s in r["server_logs"]]
    rows = [
        (
            "warm-up",
            f"{r['warmup_s']:.1f} s "
            + ("(all conversations assigned)" if acks else "(every first message relayed)"),
        ),
        (
            "messages",
            f"sent {r['sent']}, acked {r['acked']}, delivered {r['delivered']} "
            f"(in window: sent {r['sent_in_window']}, stored {r['stored_in_window']})"
            if acks
            else f"sent {r['sent']}, delivered {r['delivered']} (in window: sent "
            f"{r['sent_in_window']}, relayed {r['relayed_in_window']}); not stored, not acked",
        ),
        (
            "throughput",
            f"{r['delivered_per_s']:.0f} msg/s delivered over {r['window_s']:.1f} s "
            f"(target {c['rate']:.0f})",
        ),
        ("LOST / DUPLICATED", f"{r['lost']} / {r['duplicated']}"),
        (
            "other checks",
            f"out of order {r['out_of_order']}, echo missing {r['echo_missing']}"
            + (f", unacked {r['unacked']}, duplicate acks {r['duplicate_acks']}" if acks else ""),
        ),
        ("drain", f"{r['drain_s']:.1f} s, {'complete' if r['drained'] else 'INCOMPLETE'}"),
        (
            "server CPU",
            f"{sum(cpu):.2f} s ({', '.join(f'{x:.2f}' for x in cpu)}) = "
            f"{r['server_cpu_s_per_1000_msgs']:.3f} s per 1000 msgs",
        ),
        ("server RSS", rss),
        (
            "redis",
            f"CPU {r['redis_cpu_s']:.2f} s = {r['redis_cpu_s_per_1000_msgs']:.3f} s per 1000 "
            f"msgs, RSS {mb(r['redis_rss_kb_after'])}",
        ),
        (
            "redis per msg",
            f"{r['redis_evalsha_per_msg']} EVALSHA ({r['redis_evalsha_usec_per_msg']} us), "
            f"{r['redis_socket_reads_per_msg']} socket reads (~round trips), "
            f"{r['redis_commands_per_msg']} commands (incl. inside scripts)",
        ),
        (
            "generator",
            f"CPU {r['generator_cpu_s']:.2f} s ({r['generator_cpu_share']:.0%} of a core),"
            f" pacer lag p99 {pacer['tick_lag_ms']['p99']:.1f} ms, skipped sends "
            f"{pacer['skipped']} of {pacer['issued']}, RSS {mb(r['generator_rss_kb'])}",
        ),
        (
            "errors",
            str(r["errors"] or "none")
            + (f", handler {r['handler_errors']}" if r["handler_errors"] else ""),
        ),
        (
            "reconnects",
            f"{r['reconnects']} (failed {r['reconnect_failures']}, "
            f"close codes {r['close_codes'] or '-'})",
        ),
        ("server logs", "; ".join(f"node{i}: {e or 'clean'}" for i, e in enumerate(logs))),
        (
            "result",
            "PASS" if r["passed"] else "FAIL (lost or duplicated messages, or none delivered)",
        ),
    ]
    return "\n".join([head, "", lat_table, "", kv(rows)])
