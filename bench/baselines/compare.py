"""chatserver's steady run next to the baseline's: the figures side by side and their ratios."""

from __future__ import annotations

import textwrap
from typing import Any

from bench.report import fmt_ms, kv, mb, table

CAVEAT = (
    "chatserver stores every message in Redis (one script: stream entry, conversation clocks,"
    " fan-out), gives it an id and acknowledges it to the sender, and a client that reconnects"
    " resumes from its cursor. The baseline only relays: nothing is stored, nothing is"
    " acknowledged, a message sent while the other side is away is gone."
)


def p99(r: dict[str, Any]) -> float | None:
    """The worse of the two directions' p99 delivery latency, in ms."""
    lat = r["latency_ms"]
    values = [lat[k]["p99"] for k in ("visitor_to_agent", "agent_to_visitor")]
    known = [v for v in values if v is not None]
    return max(known) if known else None


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a is not None and b else None


def ratios(ours: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    """chatserver / baseline for throughput, tail latency and CPU per message."""
    return {
        "delivered_per_s": _ratio(ours["delivered_per_s"], base["delivered_per_s"]),
        "p99_ms": _ratio(p99(ours), p99(base)),
        "server_cpu_s_per_1000_msgs": _ratio(
            ours["server_cpu_s_per_1000_msgs"], base["server_cpu_s_per_1000_msgs"]
        ),
        "note": "chatserver / baseline; below 1 is better for p99 and CPU, above 1 for msg/s",
    }


def render_compare(c: dict[str, Any]) -> str:
    ours, base, ratio = c["chatserver"], c["baseline"], c["ratio"]

    def row(name: str, a: str, b: str, r: float | None) -> list[str]:
        return [name, a, b, "-" if r is None else f"{r:.2f}x"]

    def rss(r: dict[str, Any]) -> str:
        return mb(sum(r["server_rss_kb_after"]))

    cfg = ours["config"]
    rows = [
        ["", "chatserver", "python-socketio", "ratio"],
        row(
            "delivered msg/s",
            f"{ours['delivered_per_s']:.0f}",
            f"{base['delivered_per_s']:.0f}",
            ratio["delivered_per_s"],
        ),
        row("p99 latency (ms)", fmt_ms(p99(ours)), fmt_ms(p99(base)), ratio["p99_ms"]),
        row(
            "server CPU s / 1000 msgs",
            f"{ours['server_cpu_s_per_1000_msgs']:.3f}",
            f"{base['server_cpu_s_per_1000_msgs']:.3f}",
            ratio["server_cpu_s_per_1000_msgs"],
        ),
        row("server RSS (all)", rss(ours), rss(base), None),
        row(
            "lost / duplicated",
            f"{ours['lost']} / {ours['duplicated']}",
            f"{base['lost']} / {base['duplicated']}",
            None,
        ),
    ]
    head = (
        f"compare: steady at target {cfg['rate']:.0f} msg/s for {cfg['duration']:.0f} s, "
        f"{cfg['visitors']} visitors, {cfg['agents']} agents, {cfg['servers']} servers each"
    )
    reading = (
        "when both keep up with the target rate, the msg/s ratio is ~1 by construction:"
        " raise --rate until one of them saturates"
    )
    notes = kv([("note", _wrap(CAVEAT)), ("reading", _wrap(reading))])
    return "\n".join([head, "", table(rows), "", notes])


def _wrap(text: str) -> str:
    return textwrap.fill(text, 97, initial_indent=" " * 9, subsequent_indent=" " * 9).lstrip()
