"""The `idle` scenario: many silent visitors on one server process; what does each cost?

Every visitor connects and says ``hello``, then stays silent. The server's resident memory
is read before, once all are connected, after a hold and after they all left; its CPU during
the connect phase and during the silent hold. At the end every visitor sends one ``ping`` to
show its socket is still served. Against a socket.io baseline (``protocol="socketio"``) a
visitor connects with its room and the probe is one message it gets echoed back.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass
from typing import Any

from bench.cluster import HOST, Cluster, ProcStat, gen_rss_kb, self_cpu
from bench.loadgen import Peer, Visitor, close_all, open_all, wait_until
from bench.report import kv, latency_rows, mb, percentiles, table
from bench.tracker import Msg, Tracker, now, quiet_gc


@dataclass(frozen=True, slots=True)
class IdleConfig:
    visitors: int = 2000
    hold: float = 10.0
    connect_concurrency: int = 200
    msgpack: bool = False
    protocol: str = "chatserver"  # or "socketio": the baselines' clients


class _Probe:
    """The end-of-hold check that a socket is still served: a ping answered by a pong, or
    (socket.io has no application ping) a message echoed back to its sender."""

    def __init__(self, protocol: str) -> None:
        self.socketio = protocol == "socketio"
        self.sent: dict[int, Msg] = {}

    def send(self, v: Peer) -> None:
        if self.socketio:
            self.sent[id(v)] = v.say("ping", measured=False)  # type: ignore[attr-defined]
        else:
            v.send_raw({"type": "ping"})

    def answered_at(self, v: Peer) -> float | None:
        if self.socketio:
            rec = self.sent.get(id(v))
            return rec.t_echo if rec is not None else None
        return v.t_pong


def _visitors(cfg: IdleConfig, tracker: Tracker, port: int) -> list[Peer]:
    nodes = [(HOST, port)]
    if cfg.protocol == "socketio":
        from bench.baselines.socketio_peers import SioVisitor

        return [SioVisitor(i, tracker, nodes, 0, 0) for i in range(cfg.visitors)]
    return [Visitor(i, tracker, nodes, cfg.msgpack) for i in range(cfg.visitors)]


async def run_idle(cluster: Cluster, cfg: IdleConfig) -> dict[str, Any]:
    node = cluster.nodes[0]  # every visitor on the same process
    tracker = Tracker()
    visitors = _visitors(cfg, tracker, node.port)
    probe = _Probe(cfg.protocol)
    await asyncio.sleep(1.0)  # let the fresh server settle
    base = node_stat(cluster)
    redis_base = cluster.redis_stat()
    gen_base = self_cpu()
    try:
        with quiet_gc():
            t0 = now()
            failures = await open_all(visitors, cfg.connect_concurrency)
            connect_s = now() - t0
            connected_stat = node_stat(cluster)
            await asyncio.sleep(2.0)  # settle: anything the hellos started has finished
            settled = node_stat(cluster)
            await asyncio.sleep(cfg.hold)
            held = node_stat(cluster)
            alive = [v for v in visitors if v.conn is not None and not v.conn.closed and v.ready]
            t_ping = now()
            for v in alive:
                probe.send(v)
            pongs_ok = await wait_until(lambda: all(probe.answered_at(v) for v in alive), 15.0)
            pong = percentiles(t - t_ping for v in alive if (t := probe.answered_at(v)) is not None)
            redis_after = cluster.redis_stat()
            gen_cpu = self_cpu() - gen_base
    finally:
        await close_all(visitors)
    await asyncio.sleep(2.0)
    gone = node_stat(cluster)
    n_ok = cfg.visitors - len(failures)
    connect_times = [v.t_welcome - v.t_open for v in visitors if v.t_welcome and v.t_open]
    return {
        "scenario": "idle",
        "config": {**asdict(cfg), "servers": len(cluster.nodes)},
        "connected": n_ok,
        "connect_failures": len(failures),
        "connect_failure_samples": failures[:5],
        "connect_s": round(connect_s, 3),
        "connects_per_s": round(n_ok / connect_s, 1) if connect_s else None,
        "time_to_welcome_ms": percentiles(connect_times),
        "alive_after_hold": len(alive),
        "pong_ms": pong,
        "pongs_complete": pongs_ok,
        "server_rss_kb": {
            "before": base.rss_kb,
            "connected": connected_stat.rss_kb,
            "settled": settled.rss_kb,
            "after_hold": held.rss_kb,
            "after_disconnect": gone.rss_kb,
        },
        "rss_kb_per_connection": round((held.rss_kb - base.rss_kb) / n_ok, 2) if n_ok else None,
        "server_cpu_s": {
            "connect_phase": round(connected_stat.cpu - base.cpu, 3),
            "hold": round(held.cpu - settled.cpu, 3),
        },
        "server_cpu_ms_per_connect": round((connected_stat.cpu - base.cpu) * 1000 / n_ok, 3)
        if n_ok
        else None,
        "server_cpu_share_during_hold": round((held.cpu - settled.cpu) / cfg.hold, 4),
        "redis_rss_kb": {"before": redis_base.rss_kb, "after": redis_after.rss_kb},
        "redis_cpu_s": round(redis_after.cpu - redis_base.cpu, 3),
        "generator_cpu_s": round(gen_cpu, 3),
        "generator_rss_kb": gen_rss_kb(),
        "errors": dict(tracker.errors),
        "close_codes": dict(tracker.close_codes),
        "reconnects": tracker.reconnects,
        "server_logs": cluster.log_summaries(),
        "passed": len(failures) == 0 and len(alive) == cfg.visitors and pongs_ok,
    }


def node_stat(cluster: Cluster) -> ProcStat:
    return cluster.server_stats()[0]


def render_idle(r: dict[str, Any]) -> str:
    c = r["config"]
    rss = r["server_rss_kb"]
    cpu = r["server_cpu_s"]
    head = f"idle: {c['visitors']} silent visitors on 1 server process, hold {c['hold']:.0f} s"
    lat = table(
        latency_rows(
            "latency (ms)",
            {
                "connect -> welcome": r["time_to_welcome_ms"],
                "ping -> pong (all at once)": r["pong_ms"],
            },
        )
    )
    rows = [
        (
            "connected",
            f"{r['connected']} in {r['connect_s']:.1f} s ({r['connects_per_s']}/s), "
            f"failures {r['connect_failures']}, alive after hold "
            f"{r['alive_after_hold']}",
        ),
        (
            "server RSS",
            f"before {mb(rss['before'])}, connected {mb(rss['connected'])}, "
            f"after hold {mb(rss['after_hold'])}, after disconnect "
            f"{mb(rss['after_disconnect'])}",
        ),
        ("RSS per connection", f"{r['rss_kb_per_connection']} KB"),
        (
            "server CPU",
            f"connect phase {cpu['connect_phase']:.2f} s "
            f"({r['server_cpu_ms_per_connect']} ms per connection); "
            f"hold {cpu['hold']:.2f} s ({r['server_cpu_share_during_hold']:.1%} of a core)",
        ),
        (
            "redis",
            f"RSS {mb(r['redis_rss_kb']['before'])} -> {mb(r['redis_rss_kb']['after'])}, "
            f"CPU {r['redis_cpu_s']:.2f} s",
        ),
        ("generator", f"CPU {r['generator_cpu_s']:.2f} s, RSS {mb(r['generator_rss_kb'])}"),
        ("errors", str(r["errors"] or "none")),
        ("closed by server", str(r["close_codes"] or "none")),
        (
            "server logs",
            "; ".join(f"node{i}: {s['events'] or 'clean'}" for i, s in enumerate(r["server_logs"])),
        ),
        ("result", "PASS" if r["passed"] else "FAIL (connections failed or were dropped)"),
    ]
    return "\n".join([head, "", lat, "", kv(rows)])
