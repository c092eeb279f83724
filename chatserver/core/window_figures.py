"""The dashboard's figures over a window of time, from latency records. Pure, no I/O.

A :class:`Record` is one moment the scripts wrote to the site's latency stream (see
``lua/_lib.lua``): a chat started, waited, was answered, ended, was rated, breached a target,
or an agent's online/away period ended. The store folds the stream into hourly buckets; these
functions turn the records of a window into the figures the dashboard and its JSON API show.

Definitions (docs/metrics.md repeats them for readers of the API):

- median: the middle value, or the mean of the two middle values of an even count;
- p90: nearest rank, the ``ceil(0.9 * n)``-th smallest value;
- durations are in milliseconds; a figure with no sample is ``None``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

import orjson

HOUR_MS = 3_600_000
MINUTE_MS = 60_000

# Kinds whose ``ms`` is a duration the dashboard summarises, and the name it shows them by.
DURATIONS = {
    "wait": "wait",
    "first_response": "first_response",
    "response": "response",
    "resolution": "resolution",
}
# Kinds the dashboard counts: its name for the count -> the record kind.
COUNTS = {
    "started": "started",
    "missed": "missed",
    "abandoned": "abandoned",
    "resolved": "resolution",
    "sla_first_breaches": "sla_first_breach",
    "sla_next_breaches": "sla_next_breach",
}
# Upper bounds (seconds) of the Prometheus histograms kept per site (the store adds them up),
# and the kinds counted since the start for /metrics.
HISTOGRAM_KINDS = ("wait", "first_response", "response")
COUNTED_KINDS = (
    "started",
    "missed",
    "abandoned",
    "resolution",
    "sla_first_breach",
    "sla_next_breach",
)
HISTOGRAM_BOUNDS_S = (5, 15, 30, 60, 120, 300, 600, 1800)
# The first-response chart: upper bounds in seconds of each bar (the last bar is the rest).
FIRST_RESPONSE_BARS_S = (15, 30, 60, 120, 300, 600)


@dataclass(frozen=True, slots=True)
class Record:
    kind: str
    conv: str
    agent: str
    dept: str
    ms: int
    ts: int

    def encode(self) -> str:
        """The compact form kept in a bucket list."""
        fields = [self.kind, self.conv, self.agent, self.dept, self.ms, self.ts]
        return orjson.dumps(fields).decode()

    @classmethod
    def decode(cls, raw: str | bytes) -> Record:
        kind, conv, agent, dept, ms, ts = orjson.loads(raw)
        return cls(str(kind), str(conv), str(agent), str(dept), int(ms), int(ts))

    @classmethod
    def from_stream(cls, fields: Mapping[str, str]) -> Record | None:
        """A record from a latency stream entry; None for an entry without a time."""
        try:
            ts = int(fields.get("ts") or "")
            ms = int(float(fields.get("ms") or "0"))
        except ValueError:
            return None
        return cls(
            fields.get("k", ""),
            fields.get("c", ""),
            fields.get("a", ""),
            fields.get("d", ""),
            ms,
            ts,
        )


def hour_of(ts: int) -> int:
    return ts // HOUR_MS


def minute_of(ts: int) -> int:
    return ts // MINUTE_MS


def median(values: Sequence[int]) -> float | int | None:
    """The median; an even count gives the mean of the two middle values."""
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    total = ordered[mid - 1] + ordered[mid]
    return total // 2 if total % 2 == 0 else total / 2


def percentile(values: Sequence[int], p: float) -> int | None:
    """Nearest-rank percentile: the ``ceil(p/100 * n)``-th smallest value."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def summary(values: Sequence[int]) -> dict[str, Any]:
    return {"count": len(values), "median": median(values), "p90": percentile(values, 90)}


def satisfaction(scores: Sequence[int]) -> dict[str, Any]:
    """Ratings 1-5: how many, their mean, and the share of 4s and 5s (CSAT, per cent)."""
    if not scores:
        return {"count": 0, "average": None, "csat": None}
    good = sum(1 for s in scores if s >= 4)
    return {
        "count": len(scores),
        "average": round(sum(scores) / len(scores), 2),
        "csat": round(100 * good / len(scores), 1),
    }


def in_window(
    records: Iterable[Record], start: int, end: int, dept: str | None = None
) -> list[Record]:
    """Records with ``start <= ts < end`` (of one department when ``dept`` is not None)."""
    return [r for r in records if start <= r.ts < end and (dept is None or r.dept == dept)]


def window_figures(records: Sequence[Record]) -> dict[str, Any]:
    """Counts, duration summaries and satisfaction of records already cut to a window."""
    out: dict[str, Any] = {
        name: sum(1 for r in records if r.kind == kind) for name, kind in COUNTS.items()
    }
    for name, kind in DURATIONS.items():
        out[name] = summary([r.ms for r in records if r.kind == kind])
    out["satisfaction"] = satisfaction([r.ms for r in records if r.kind == "rating"])
    return out


def clipped_ms(end_ts: int, length: int, start: int, end: int) -> int:
    """How much of the period ``[end_ts - length, end_ts)`` lies within ``[start, end)``."""
    lo, hi = max(end_ts - length, start), min(end_ts, end)
    return max(0, hi - lo)


def agent_report(
    records: Sequence[Record],
    agents: Sequence[Mapping[str, Any]],
    start: int,
    end: int,
) -> list[dict[str, Any]]:
    """Per agent, over ``[start, end)``: chats handled, first response, response and
    resolution times, satisfaction, and time online.

    ``records`` may reach before ``start``: online periods that ended inside the window are
    clipped to it. Each agent mapping has ``id``, ``name`` and, for its current period,
    ``status`` and ``status_since`` (ms; the period still running at ``end``).
    Chats handled: distinct conversations the agent was assigned (wait record), answered or
    resolved in the window.
    """
    out = []
    for agent in agents:
        aid = str(agent["id"])
        mine = [r for r in records if r.agent == aid]
        inside = [r for r in mine if start <= r.ts < end]
        online = sum(clipped_ms(r.ts, r.ms, start, end) for r in mine if r.kind == "online")
        since = int(agent.get("status_since") or 0)
        if agent.get("status") == "online" and since:
            online += clipped_ms(end, end - since, start, end)
        handled = {
            r.conv for r in inside if r.kind in ("wait", "first_response", "response", "resolution")
        }
        out.append(
            {
                "id": aid,
                "name": agent.get("name", ""),
                "chats_handled": len(handled),
                "first_response": summary([r.ms for r in inside if r.kind == "first_response"]),
                "response": summary([r.ms for r in inside if r.kind == "response"]),
                "resolution": summary([r.ms for r in inside if r.kind == "resolution"]),
                "satisfaction": satisfaction([r.ms for r in inside if r.kind == "rating"]),
                "online_ms": online,
            }
        )
    return out


def day_start(now: int, tz: tzinfo) -> int:
    """Midnight of ``now``'s day in ``tz``, in ms."""
    local = datetime.fromtimestamp(now / 1000, tz)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return int(midnight.timestamp() * 1000)


def day_bounds(date_text: str, tz: tzinfo) -> tuple[int, int]:
    """[start, end) in ms of a ``YYYY-MM-DD`` day in ``tz``; raises ValueError if malformed."""
    day = datetime.strptime(date_text, "%Y-%m-%d").replace(tzinfo=tz)
    start = int(day.timestamp() * 1000)
    return start, int((day + timedelta(days=1)).timestamp() * 1000)


def per_hour(
    records: Iterable[Record], kind: str, start_hour: int, end_hour: int, dept: str | None
) -> list[dict[str, int]]:
    """Records of ``kind`` per clock hour from ``start_hour`` to ``end_hour`` inclusive."""
    counts = dict.fromkeys(range(start_hour, end_hour + 1), 0)
    for r in records:
        h = hour_of(r.ts)
        if r.kind == kind and h in counts and (dept is None or r.dept == dept):
            counts[h] += 1
    return [{"t": h * HOUR_MS, "count": n} for h, n in counts.items()]


def distribution(values: Sequence[int], bounds_s: Sequence[int]) -> list[dict[str, Any]]:
    """How many ``values`` (ms) fall in each bar ``(previous bound, bound]`` (seconds); the
    last bar (``le`` None) holds the rest."""
    bars: list[dict[str, Any]] = []
    low = -1
    for bound in bounds_s:
        high = bound * 1000
        bars.append({"le": bound, "count": sum(1 for v in values if low < v <= high)})
        low = high
    bars.append({"le": None, "count": sum(1 for v in values if v > low)})
    return bars


def gauge_series(
    minutes: Mapping[int, Mapping[str, str]],
    field: str,
    first_minute: int,
    last_minute: int,
    slot: int,
) -> list[dict[str, Any]]:
    """The highest sample of ``field`` per slot of ``slot`` minutes (None: no sample)."""
    out = []
    for s in range(first_minute - first_minute % slot, last_minute + 1, slot):
        values = [
            int(v)
            for m in range(s, s + slot)
            if (v := minutes.get(m, {}).get(field)) not in (None, "")
        ]
        out.append({"t": s * MINUTE_MS, "value": max(values) if values else None})
    return out


def histogram_increments(records: Iterable[Record]) -> dict[str, int]:
    """What folding ``records`` adds to the site's cumulative Prometheus histograms."""
    inc: dict[str, int] = {}
    for r in records:
        if r.kind in COUNTED_KINDS:
            inc[f"events|{r.kind}"] = inc.get(f"events|{r.kind}", 0) + 1
        if r.kind not in HISTOGRAM_KINDS:
            continue
        for bound in HISTOGRAM_BOUNDS_S:
            if r.ms <= bound * 1000:
                key = f"{r.kind}|{bound}"
                inc[key] = inc.get(key, 0) + 1
        for key, n in ((f"{r.kind}|count", 1), (f"{r.kind}|sum", r.ms)):
            inc[key] = inc.get(key, 0) + n
    return inc
