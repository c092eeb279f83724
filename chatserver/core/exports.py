"""CSV exports of conversations and of the dashboard's reports: the rows, pure (no I/O).

The console streams them (console/export_routes.py) from pages the store reads
(chatserver/store/exports.py); this module decides what a row says. Every cell goes through
:func:`chatserver.core.audit.csv_safe`, so a visitor who calls themselves ``=HYPERLINK(...)``
cannot run a formula in a supervisor's spreadsheet. The file starts with a byte order mark:
Excel reads a CSV without one in the machine's legacy code page, which garbles Persian.

Column names are fixed English identifiers (like an API's fields), whatever the reader's
language, so a sheet built on one export keeps working on the next; times are ISO 8601 UTC
and durations whole seconds.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from chatserver.core.audit import csv_safe
from chatserver.core.text import fold

BOM = "\ufeff"
# The most rows one export writes (a documented bound: README, "Exports"); a request may ask
# for fewer. The scan bound keeps a filter that matches almost nothing from walking a huge
# site for minutes: at most this many conversations of the range are looked at.
MAX_ROWS = 100_000
MAX_SCAN = 1_000_000
MAX_RANGE_DAYS = 366  # conversations: a year at most per file
REPORT_DAYS = 7  # the dashboard keeps its hourly records 8 days (store/dashboard.py)

CONVERSATION_HEADER = (
    "id",
    "created_at",
    "ended_at",
    "status",
    "department",
    "agent_id",
    "agent_name",
    "visitor_id",
    "visitor_name",
    "visitor_email",
    "wait_s",
    "first_response_s",
    "resolution_s",
    "rating",
    "messages",
    "agent_replies",
    "labels",  # names, "; " between them (core/labels.py; a deleted label's left out)
)
# What the store reads of each conversation for a row (and for the filters).
CONVERSATION_FIELDS = (
    "id",
    "status",
    "department",
    "agent",
    "agent_name",
    "visitor",
    "visitor_name",
    "created_at",
    "ended_at",
    "resolved_at",
    "wait_ms",
    "first_response_ms",
    "rating",
    "responses",
    "labels",
)
DAY_HEADER = (
    "date",
    "started",
    "missed",
    "abandoned",
    "resolved",
    "sla_first_breaches",
    "sla_next_breaches",
    "wait_median_s",
    "wait_p90_s",
    "first_response_median_s",
    "first_response_p90_s",
    "response_median_s",
    "resolution_median_s",
    "ratings",
    "rating_average",
    "csat_percent",
)
AGENT_HEADER = (
    "date",
    "agent_id",
    "agent_name",
    "chats_handled",
    "first_response_median_s",
    "response_median_s",
    "resolution_median_s",
    "ratings",
    "csat_percent",
    "online_s",
)


def iso(ms: int | str | None) -> str:
    """A stored time (ms) as ISO 8601 UTC, ``2024-03-05T07:15:00Z``; '' for none."""
    try:
        value = int(ms or 0)
    except ValueError:
        return ""
    if value <= 0:
        return ""
    return datetime.fromtimestamp(value / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def seconds(ms: float | int | str | None) -> str:
    """A duration in ms as whole seconds (rounded); '' for none."""
    if ms is None or ms == "":
        return ""
    try:
        return str(round(float(ms) / 1000))
    except ValueError:
        return ""


def _number(value: Any) -> str:
    return "" if value is None else str(value)


@dataclass(frozen=True, slots=True)
class ConversationFilter:
    """Which conversations an export keeps; empty fields keep all.

    ``agent`` is an agent's id or a part of their name (case, and how Persian letters and
    digits were typed, ignored: chatserver.core.text.fold); ``only_agent`` is the id an
    agent's own export is held to (what their role may see), set by the route, never by the
    request."""

    status: str = ""
    department: str = ""
    agent: str = ""
    only_agent: str = ""

    def keeps(self, conv: Mapping[str, str]) -> bool:
        if self.only_agent and conv.get("agent", "") != self.only_agent:
            return False
        if self.status and conv.get("status", "") != self.status:
            return False
        if self.department and conv.get("department", "") != self.department:
            return False
        if self.agent:
            if conv.get("agent") == self.agent:
                return True
            return fold(self.agent) in fold(conv.get("agent_name", ""))
        return True


def conversation_row(
    conv: Mapping[str, str], email: str, messages: int, labels: Sequence[str] = ()
) -> list[str]:
    """One conversation's row under :data:`CONVERSATION_HEADER`, cells neutralised;
    ``labels``: the names of its labels."""
    created = conv.get("created_at", "")
    resolved = conv.get("resolved_at", "")
    resolution = ""
    if created and resolved and conv.get("status") == "resolved":
        resolution = seconds(int(resolved) - int(created))
    cells = [
        conv.get("id", ""),
        iso(created),
        iso(conv.get("ended_at")),
        conv.get("status", ""),
        conv.get("department", ""),
        conv.get("agent", ""),
        conv.get("agent_name", ""),
        conv.get("visitor", ""),
        conv.get("visitor_name", ""),
        email,
        seconds(conv.get("wait_ms")),
        seconds(conv.get("first_response_ms")),
        resolution,
        conv.get("rating", ""),
        str(messages),
        conv.get("responses", "") or "0",
        "; ".join(labels),
    ]
    return [csv_safe(c) for c in cells]


def label_header(names: Sequence[str]) -> list[str]:
    """The day report's columns after DAY_HEADER: one per label of the site, ``label:<name>``
    (the count of the day's conversations with it)."""
    return [csv_safe(f"label:{name}") for name in names]


def day_row(date: str, figures: Mapping[str, Any]) -> list[str]:
    """One day of :func:`chatserver.core.window_figures.window_figures` under DAY_HEADER."""
    sat = figures["satisfaction"]
    cells = [
        date,
        _number(figures["started"]),
        _number(figures["missed"]),
        _number(figures["abandoned"]),
        _number(figures["resolved"]),
        _number(figures["sla_first_breaches"]),
        _number(figures["sla_next_breaches"]),
        seconds(figures["wait"]["median"]),
        seconds(figures["wait"]["p90"]),
        seconds(figures["first_response"]["median"]),
        seconds(figures["first_response"]["p90"]),
        seconds(figures["response"]["median"]),
        seconds(figures["resolution"]["median"]),
        _number(sat["count"]),
        _number(sat["average"]),
        _number(sat["csat"]),
    ]
    return [csv_safe(c) for c in cells]


def agent_row(date: str, report: Mapping[str, Any]) -> list[str]:
    """One agent's day of :func:`chatserver.core.window_figures.agent_report` under
    AGENT_HEADER."""
    cells = [
        date,
        str(report["id"]),
        str(report.get("name", "")),
        _number(report["chats_handled"]),
        seconds(report["first_response"]["median"]),
        seconds(report["response"]["median"]),
        seconds(report["resolution"]["median"]),
        _number(report["satisfaction"]["count"]),
        _number(report["satisfaction"]["csat"]),
        seconds(report["online_ms"]),
    ]
    return [csv_safe(c) for c in cells]


def cut_row(note: str) -> list[str]:
    """The last row of an export that reached its bound: one cell, starting with '#', that
    says so in the reader's language (a row no sheet mistakes for a conversation)."""
    return [csv_safe("# " + note)]


def encode(rows: Iterable[Sequence[str]]) -> str:
    """Rows as CSV text (RFC 4180: CRLF line ends, quotes doubled)."""
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue()


def days_of(start: int, end: int, tz: tzinfo) -> list[tuple[str, int, int]]:
    """The local days ``[start, end)`` covers, each as (YYYY-MM-DD, day start, day end) in
    ms; ``start`` is a local midnight (a day the clocks change keeps its own length)."""
    out: list[tuple[str, int, int]] = []
    day = datetime.fromtimestamp(start / 1000, tz).date()
    while True:
        lo = int(datetime(day.year, day.month, day.day, tzinfo=tz).timestamp() * 1000)
        if lo >= end:
            return out
        nxt = day + timedelta(days=1)
        hi = int(datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz).timestamp() * 1000)
        out.append((day.isoformat(), lo, min(hi, end)))
        day = nxt
