"""The `burst` scenario: a crowd of visitors arrives within seconds; how fast and how fairly
are they queued and assigned?

Agents connect first (alternately to the server processes). Visitors then arrive evenly
spread over the arrival window, each on the next node: connect, ``hello``, first message
(which opens and queues the conversation). The run waits until every conversation is
assigned or the settle time runs out. Agents do not reply; with ``resolve_after`` they
resolve each conversation that long after getting it, so a queue longer than the agents'
capacity drains.

Fairness compares arrival order with assignment order over every pair of conversations:
once on the server's clock (the conversation's ``queued_at`` and ``assigned_at``, in ms, read
from Redis afterwards) and once on the generator's clock (first message sent, `assigned`
frame received).
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass
from typing import Any

from bench.cluster import HOST, Cluster, gen_rss_kb, snapshot
from bench.loadgen import Agent, Visitor, close_all, open_all, wait_until
from bench.report import kv, latency_rows, pair_order, percentiles, table
from bench.tracker import Tracker, now, quiet_gc
from bench.wsclient import HandshakeError


@dataclass(frozen=True, slots=True)
class BurstConfig:
    visitors: int = 1000
    agents: int = 50
    capacity: int = 20
    arrival: float = 10.0  # seconds over which the visitors arrive
    settle: float = 30.0  # after the last arrival, wait this long at most for assignments
    resolve_after: float = 0.0  # agents resolve each chat this long after taking it; 0: never
    msgpack: bool = False


async def run_burst(cluster: Cluster, cfg: BurstConfig) -> dict[str, Any]:
    tracker = Tracker()
    tracker.replies = False
    nodes = [(HOST, node.port) for node in cluster.nodes]
    emails = await cluster.create_agents(cfg.agents, cfg.capacity)
    tokens = await cluster.login_all(emails)
    agents = [
        Agent(i, tracker, nodes, tok, cfg.msgpack, cfg.resolve_after)
        for i, tok in enumerate(tokens)
    ]
    visitors = [Visitor(i, tracker, nodes, cfg.msgpack) for i in range(cfg.visitors)]
    failures: list[str] = []
    loop = asyncio.get_running_loop()

    async def arrive(v: Visitor, at: float) -> None:
        await asyncio.sleep(max(0.0, at - loop.time()))
        try:
            await v.open()
        except (OSError, HandshakeError, TimeoutError) as exc:
            failures.append(f"{v.name}: {exc!r}")
            return
        v.say("Hi, can someone help me with my order?")

    try:
        agent_failures = await open_all(agents)
        failures += agent_failures
        with quiet_gc():
            before = await snapshot(cluster)
            start = loop.time()
            step = cfg.arrival / max(1, cfg.visitors)
            t0 = now()
            await asyncio.gather(*(arrive(v, start + i * step) for i, v in enumerate(visitors)))
            arrived_s = now() - t0
            all_assigned = await wait_until(
                lambda: all(v.t_assigned or v.t_welcome is None for v in visitors), cfg.settle, 0.1
            )
            done_s = now() - t0
            after = await snapshot(cluster)
        # the first messages that were assigned should have reached their agents by now
        await wait_until(lambda: tracker.delivered >= sum(1 for v in visitors if v.t_assigned), 5)
    finally:
        await close_all([*agents, *visitors])
    convs = await cluster.conversations([v.conv_id for v in visitors if v.conv_id])
    server_pairs = [
        (int(c["queued_at"]), int(c["assigned_at"]))
        for c in convs
        if c.get("queued_at") and c.get("assigned_at")
    ]
    client_pairs = [
        (v.t_first_send, v.t_assigned) for v in visitors if v.t_first_send and v.t_assigned
    ]
    assigned = [v for v in visitors if v.t_assigned and v.t_first_send]
    queued = [v for v in visitors if v.t_first_queue and v.t_first_send]
    server_cpu = [b.cpu - a.cpu for a, b in zip(before.servers, after.servers, strict=True)]
    return {
        "scenario": "burst",
        "config": {**asdict(cfg), "servers": len(cluster.nodes)},
        "connect_failures": len(failures),
        "connect_failure_samples": failures[:5],
        "arrivals_s": round(arrived_s, 3),
        "until_all_assigned_s": round(done_s, 3) if all_assigned else None,
        "assigned": len(assigned),
        "unassigned": cfg.visitors - len(assigned),
        "conversations": len(convs),
        "time_to_welcome_ms": percentiles(
            v.t_welcome - v.t_open for v in visitors if v.t_welcome and v.t_open
        ),
        "time_to_first_queue_ms": percentiles(
            v.t_first_queue - v.t_first_send for v in queued if v.t_first_queue and v.t_first_send
        ),
        "visitors_with_queue_frame": len(queued),
        "max_queue_position": max((v.max_position for v in visitors), default=0),
        "time_to_assigned_ms": percentiles(
            v.t_assigned - v.t_first_send for v in assigned if v.t_assigned and v.t_first_send
        ),
        "first_message_to_agent_ms": percentiles(
            r.t_other - r.t_send for r in tracker.msgs.values() if r.t_other
        ),
        "fairness_server_clock": pair_order(server_pairs),
        "fairness_generator_clock": pair_order(client_pairs),
        "resolved_by_agents": sum(a.resolved for a in agents),
        "lost": sum(1 for r in tracker.msgs.values() if r.t_ack is not None and r.t_other is None),
        "duplicated": tracker.duplicates,
        "duplicate_samples": tracker.duplicate_samples,
        "errors": dict(tracker.errors),
        "handler_errors": dict(tracker.handler_errors),
        "reconnects": tracker.reconnects,
        "close_codes": dict(tracker.close_codes),
        "server_cpu_s": [round(c, 3) for c in server_cpu],
        "redis_cpu_s": round(after.redis.cpu - before.redis.cpu, 3),
        "redis_commands": after.counters["total_commands"] - before.counters["total_commands"],
        "server_rss_kb_after": [s.rss_kb for s in after.servers],
        "generator_cpu_s": round(after.gen_cpu - before.gen_cpu, 3),
        "generator_rss_kb": gen_rss_kb(),
        "server_logs": cluster.log_summaries(),
        "passed": not failures and all_assigned and tracker.duplicates == 0,
    }


def _fair(f: dict[str, Any]) -> str:
    if f["fraction_in_order"] is None:
        return "n/a"
    return (
        f"{f['fraction_in_order']:.3%} of {f['pairs_in_order'] + f['inversions']} pairs in "
        f"arrival order ({f['inversions']} inversions, {f['ties']} ties)"
    )


def render_burst(r: dict[str, Any]) -> str:
    c = r["config"]
    head = (
        f"burst: {c['visitors']} visitors arriving over {c['arrival']:.0f} s, {c['agents']} agents"
        f" x capacity {c['capacity']}, {c['servers']} servers"
        + (f", agents resolve after {c['resolve_after']} s" if c["resolve_after"] else "")
    )
    lat = table(
        latency_rows(
            "latency (ms)",
            {
                "connect -> welcome": r["time_to_welcome_ms"],
                "first message -> first queue frame": r["time_to_first_queue_ms"],
                "first message -> assigned": r["time_to_assigned_ms"],
                "first message -> at agent": r["first_message_to_agent_ms"],
            },
        )
    )
    done = r["until_all_assigned_s"]
    rows = [
        (
            "arrivals",
            f"{c['visitors']} in {r['arrivals_s']:.1f} s, connect failures {r['connect_failures']}",
        ),
        (
            "assigned",
            f"{r['assigned']} of {c['visitors']}"
            + (
                f", all within {done:.1f} s of the first arrival"
                if done
                else f", {r['unassigned']} still waiting at the end"
            ),
        ),
        (
            "queue frames",
            f"{r['visitors_with_queue_frame']} visitors got one; max position "
            f"{r['max_queue_position']}",
        ),
        ("fairness (server)", _fair(r["fairness_server_clock"])),
        ("fairness (client)", _fair(r["fairness_generator_clock"])),
        ("lost / duplicated", f"{r['lost']} / {r['duplicated']} (first messages)"),
        ("server CPU", ", ".join(f"{x:.2f} s" for x in r["server_cpu_s"])),
        ("redis", f"CPU {r['redis_cpu_s']:.2f} s, {r['redis_commands']} commands"),
        ("generator", f"CPU {r['generator_cpu_s']:.2f} s"),
        ("errors", str(r["errors"] or "none")),
        ("reconnects", f"{r['reconnects']} (close codes {r['close_codes'] or '-'})"),
        (
            "server logs",
            "; ".join(f"node{i}: {s['events'] or 'clean'}" for i, s in enumerate(r["server_logs"])),
        ),
        ("result", "PASS" if r["passed"] else "FAIL (see above)"),
    ]
    return "\n".join([head, "", lat, "", kv(rows)])
