"""Summaries of a run: percentiles, a plain-text table for people and a JSON file for tools."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def percentiles(values_s: Iterable[float]) -> dict[str, Any]:
    """count, mean and p50/p90/p99/max of durations given in seconds, reported in ms."""
    data = sorted(values_s)
    n = len(data)
    if n == 0:
        return {"count": 0, "mean": None, "p50": None, "p90": None, "p99": None, "max": None}

    def rank(q: float) -> float:  # nearest-rank percentile
        return data[min(n - 1, max(0, math.ceil(q * n) - 1))] * 1000

    return {
        "count": n,
        "mean": round(sum(data) / n * 1000, 3),
        "p50": round(rank(0.50), 3),
        "p90": round(rank(0.90), 3),
        "p99": round(rank(0.99), 3),
        "max": round(data[-1] * 1000, 3),
    }


def pair_order(items: Sequence[tuple[float, float]]) -> dict[str, Any]:
    """Ordering fairness of (arrival, service) pairs.

    Over every pair of items that arrived at different times: ``in_order`` were served in
    arrival order, ``inversions`` the other way round, ``ties`` at the same recorded time.
    """
    ordered = sorted(items)
    in_order = inversions = ties = 0
    for i, (arr_i, srv_i) in enumerate(ordered):
        for arr_j, srv_j in ordered[i + 1 :]:
            if arr_j == arr_i:
                continue
            if srv_i < srv_j:
                in_order += 1
            elif srv_i > srv_j:
                inversions += 1
            else:
                ties += 1
    decided = in_order + inversions
    return {
        "items": len(ordered),
        "pairs_in_order": in_order,
        "inversions": inversions,
        "ties": ties,
        "fraction_in_order": round(in_order / decided, 5) if decided else None,
    }


def fmt_ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}"


def latency_rows(title: str, stats: dict[str, dict[str, Any]]) -> list[list[str]]:
    rows = [[title, "p50", "p90", "p99", "max", "count"]]
    for name, s in stats.items():
        rows.append(
            [
                f"  {name}",
                fmt_ms(s["p50"]),
                fmt_ms(s["p90"]),
                fmt_ms(s["p99"]),
                fmt_ms(s["max"]),
                str(s["count"]),
            ]
        )
    return rows


def table(rows: Sequence[Sequence[str]]) -> str:
    """Align columns: the first left-aligned, the others right-aligned."""
    width = max(len(r) for r in rows)
    cols = [max((len(r[i]) for r in rows if i < len(r)), default=0) for i in range(width)]
    lines = []
    for r in rows:
        cells = [r[0].ljust(cols[0])] + [c.rjust(cols[i + 1]) for i, c in enumerate(r[1:])]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def kv(rows: Sequence[tuple[str, str]]) -> str:
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)


def mb(kb: int | float) -> str:
    return f"{kb / 1024:.1f} MB"


def write_json(scenario: str, result: dict[str, Any], out_dir: Path | None = None) -> Path:
    """Write ``result`` to <out_dir>/<scenario>-<timestamp>.json and return the path."""
    directory = out_dir or RESULTS_DIR
    directory.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = directory / f"{scenario}-{stamp}.json"
    n = 1
    while path.exists():
        n += 1
        path = directory / f"{scenario}-{stamp}-{n}.json"
    path.write_text(json.dumps(result, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return path
