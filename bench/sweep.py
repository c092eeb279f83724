"""`python -m bench sweep`: chatserver, python-socketio and Node's socket.io side by side.

The layout of the outside load test of issue 23: two server processes on one Redis (for
chatserver in the durability mode of `make run`: every ack waits for the fsync), 500
conversations and 50 agents (one agent socket carries 10 busy chats), visitors and agents
spread over both processes, every visitor message answered by its agent, 10 s windows at
each offered rate, production settings, the frame-rate limit raised for the load. Then
10,000 idle visitor sockets on one process of each. One generator drives all three runs in
turn, so the fastest peer's row at the top rate shows what the generator itself can offer.
"""

from __future__ import annotations

from typing import Any

from bench.report import fmt_ms, table

RATES = (2000.0, 4000.0, 8000.0, 12000.0, 16000.0)
# drain: at overload the latency runs to seconds; a message counts as lost only if it never
# arrives, not if it is still on its way when a short drain ends.
LAYOUT: dict[str, Any] = {"visitors": 500, "agents": 50, "duration": 10.0, "drain": 60.0}
IDLE_VISITORS = 10_000


def _p(r: dict[str, Any], key: str, q: str) -> float | None:
    value: float | None = r["latency_ms"][key][q]
    return value


def row_of(system: str, rate: float, r: dict[str, Any]) -> dict[str, Any]:
    """The figures of one steady run that the sweep's table shows."""
    handled = r["stored_in_window"] if "relayed_in_window" not in r else r["relayed_in_window"]
    per_k = 1000 / handled if handled else 0.0
    return {
        "system": system,
        "offered_per_s": rate,
        "delivered_per_s": r["delivered_per_s"],
        "v2a_p50_ms": _p(r, "visitor_to_agent", "p50"),
        "v2a_p99_ms": _p(r, "visitor_to_agent", "p99"),
        "a2v_p50_ms": _p(r, "agent_to_visitor", "p50"),
        "a2v_p99_ms": _p(r, "agent_to_visitor", "p99"),
        "ack_p99_ms": _p(r, "visitor_ack", "p99") if "relayed_in_window" not in r else None,
        "server_cpu_s_per_1000": r["server_cpu_s_per_1000_msgs"],
        "redis_cpu_s_per_1000": r["redis_cpu_s_per_1000_msgs"],
        "generator_cpu_s_per_1000": round(r["generator_cpu_s"] * per_k, 4),
        "generator_cpu_share": r["generator_cpu_share"],
        "lost": r["lost"],
        "duplicated": r["duplicated"],
        "errors": r["errors"],
        "close_codes": r["close_codes"],
        "server_logs": [s.get("events") for s in r["server_logs"]],
    }


def _cpu(row: dict[str, Any]) -> str:
    return (
        f"{row['server_cpu_s_per_1000']:.3f} / {row['redis_cpu_s_per_1000']:.3f} / "
        f"{row['generator_cpu_s_per_1000']:.3f}"
    )


def _problems(row: dict[str, Any]) -> str:
    parts = []
    if row["lost"] or row["duplicated"]:
        parts.append(f"lost {row['lost']}, dup {row['duplicated']}")
    if row["errors"]:
        parts.append("errors " + ", ".join(f"{k} {v}" for k, v in sorted(row["errors"].items())))
    if row["close_codes"]:
        parts.append("closed " + ", ".join(f"{k}x{v}" for k, v in row["close_codes"].items()))
    return "; ".join(parts) or "-"


def render_sweep(runs: list[dict[str, Any]], idles: list[dict[str, Any]]) -> str:
    """The table of issue 23: one row per (rate, system), then the idle sockets."""
    rows = [
        [
            "offered/s",
            "system",
            "delivered/s",
            "v->a p50/p99 ms",
            "a->v p50/p99 ms",
            "ack p99 ms",
            "CPU s/1000 server/redis/gen",
            "problems",
        ]
    ]
    for r in runs:
        rows.append(
            [
                f"{r['offered_per_s']:.0f}",
                r["system"],
                f"{r['delivered_per_s']:.0f}",
                f"{fmt_ms(r['v2a_p50_ms'])} / {fmt_ms(r['v2a_p99_ms'])}",
                f"{fmt_ms(r['a2v_p50_ms'])} / {fmt_ms(r['a2v_p99_ms'])}",
                fmt_ms(r["ack_p99_ms"]) if r["ack_p99_ms"] is not None else "-",
                _cpu(r),
                _problems(r),
            ]
        )
    head = (
        f"sweep: 2 servers, {LAYOUT['visitors']} conversations, {LAYOUT['agents']} agents, "
        "every visitor message answered; chatserver stores and acks each message (fsync "
        "before the ack), the relays only relay"
    )
    out = [head, "", table(rows)]
    if idles:
        idle_rows = [["idle sockets, 1 process", "connected", "RSS per socket", "CPU per connect"]]
        for i in idles:
            idle_rows.append(
                [
                    i["system"],
                    f"{i['connected']} (failures {i['connect_failures']})",
                    f"{i['rss_kb_per_connection']} KB",
                    f"{i['server_cpu_ms_per_connect']} ms",
                ]
            )
        out += ["", table(idle_rows)]
    return "\n".join(out)
