"""The dashboard's "now" panel folded from pages of open conversations (no I/O).

:func:`chatserver.core.now_figures.now_figures` takes every open conversation at once; a
site of 100,000 open conversations is read a page at a time instead, and
:class:`NowAccumulator` folds each page into the figures of the whole site and of every
department at once, keeping only counts, the queued waits (for the median) and the few rows
each list shows. :meth:`NowAccumulator.figures` gives exactly what ``now_figures`` gives for
the same conversations (tests/unit/test_now_stream.py holds them to each other).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from chatserver.core.business_clock import ALWAYS_OPEN, BusinessClock
from chatserver.core.department_hours import CHANGES_FIELD, DepartmentClocks
from chatserver.core.estimate import DEFAULT_HANDLE_SECONDS, hours_of, next_visitor_wait
from chatserver.core.now_figures import (
    LIST_LIMIT,
    Conv,
    _int,
    agent_figures,
    conversation_row,
    serves,
    sla_clock,
)
from chatserver.core.states import HANDLED_STATUSES
from chatserver.core.window_figures import median

Row = dict[str, Any]

# What :meth:`NowAccumulator.add` needs of each conversation; the fields only the listed rows
# show are read afterwards for those few (SHOWN_FIELDS).
FOLD_FIELDS = (
    "id",
    "status",
    "department",
    "agent",
    "queued_at",
    "unanswered_since",
    "first_visitor_msg_at",
    "first_agent_reply_at",
    CHANGES_FIELD,
)
SHOWN_FIELDS = ("visitor_name", "agent_name", "last_agent_msg_at")


Key = tuple[int, str]


def _order(row: Row) -> Key:
    """Who has waited longest for a reply first (now_figures' order of every list)."""
    return (-(row["waiting_ms"] or -1), str(row["id"]))


@dataclass(slots=True)
class _Top:
    """The first :data:`LIST_LIMIT` rows by :func:`_order` of however many are added; a row
    that cannot be among them is only counted (:meth:`wants` says so before it is built)."""

    rows: list[Row] = field(default_factory=list)
    count: int = 0
    worst: Key | None = None  # the last kept key once LIST_LIMIT rows are kept

    def wants(self, key: Key) -> bool:
        return self.worst is None or key < self.worst

    def add(self, key: Key, row: Row | None) -> None:
        self.count += 1
        if row is None or not self.wants(key):
            return
        self.rows.append(row)
        if len(self.rows) >= 4 * LIST_LIMIT:
            self._trim()

    def _trim(self) -> None:
        self.rows.sort(key=_order)
        del self.rows[LIST_LIMIT:]
        if len(self.rows) == LIST_LIMIT:
            self.worst = _order(self.rows[-1])

    def first(self) -> list[Row]:
        self._trim()
        return list(self.rows)


@dataclass(slots=True)
class _Bucket:
    """The figures of one department's open conversations (or of all of them)."""

    waits: list[int] = field(default_factory=list)  # of the queued ones
    queued_by_department: dict[str, int] = field(default_factory=dict)
    in_progress: int = 0
    unresolved: _Top = field(default_factory=_Top)
    breached: _Top = field(default_factory=_Top)
    at_risk: _Top = field(default_factory=_Top)
    unowned: list[str] = field(default_factory=list)


@dataclass(slots=True)
class NowAccumulator:
    """Fold open conversations, page by page, into the "now" figures.

    ``now``, the response targets and ``business`` (the SLA clocks) are fixed for one read;
    :meth:`add` takes each open conversation once (queued ones included) with whether it
    was found unowned (the store's atomic re-check).
    """

    now: int
    first_target_ms: int
    next_target_ms: int
    business: BusinessClock | DepartmentClocks = ALWAYS_OPEN
    open_count: int = 0
    # Shown fields of the rows the lists keep (visitor_name, agent_name, last_agent_msg_at),
    # by id, when the pages were read without them (:data:`SHOWN_FIELDS`, :meth:`kept_ids`).
    display: dict[str, Mapping[str, str]] = field(default_factory=dict)
    _all: _Bucket = field(default_factory=_Bucket)
    _depts: dict[str, _Bucket] = field(default_factory=dict)

    def add(self, conv: Conv, unowned: bool = False) -> None:
        self.open_count += 1
        dept = conv.get("department", "")
        bucket = self._depts.get(dept)
        if bucket is None:
            bucket = self._depts[dept] = _Bucket()
        clock = sla_clock(conv, self.now, self.first_target_ms, self.next_target_ms, self.business)
        state = clock["state"]
        unanswered = _int(conv.get("unanswered_since"))
        cid = conv.get("id", "")
        waiting = self.now - unanswered if unanswered else None
        key = (-(waiting or -1), cid)  # _order of the row, before it is built
        tops = [self._all.unresolved, bucket.unresolved]
        if state == "breached":
            tops += [self._all.breached, bucket.breached]
        elif state == "at_risk":
            tops += [self._all.at_risk, bucket.at_risk]
        # The row is built only if some list may show it (most of 100,000 are only counted).
        row = conversation_row(conv, self.now, clock) if any(t.wants(key) for t in tops) else None
        for top in tops:
            top.add(key, row)
        status = conv.get("status")
        for b in (self._all, bucket):
            if status == "queued":
                b.waits.append(max(0, self.now - _int(conv.get("queued_at"))))
                b.queued_by_department[dept] = b.queued_by_department.get(dept, 0) + 1
            elif status in HANDLED_STATUSES:
                b.in_progress += 1
            if unowned:
                b.unowned.append(cid)

    def kept_ids(self) -> list[str]:
        """The ids of the rows some list may show: those whose shown fields to read."""
        ids: set[str] = set()
        for b in (self._all, *self._depts.values()):
            for top in (b.unresolved, b.breached, b.at_risk):
                ids.update(str(r["id"]) for r in top.first())
        return sorted(ids)

    def _shown(self, rows: list[Row]) -> list[Row]:
        out = []
        for row in rows:
            extra = self.display.get(str(row["id"]))
            if extra is not None:
                last_reply = _int(extra.get("last_agent_msg_at"))
                row = {
                    **row,
                    "visitor_name": extra.get("visitor_name", ""),
                    "agent_name": extra.get("agent_name", ""),
                    "since_last_reply_ms": self.now - last_reply if last_reply else None,
                }
            out.append(row)
        return out

    def departments(self) -> list[str]:
        """The departments with an open conversation, sorted."""
        return sorted(self._depts)

    def figures(
        self,
        agents: Sequence[Mapping[str, Any]],
        dept: str | None = None,
        handle_seconds: float = DEFAULT_HANDLE_SECONDS,
    ) -> dict[str, Any]:
        """What ``now_figures`` gives for the conversations added (one department when
        ``dept`` is not None)."""
        if dept is None:
            b = self._all
        else:
            b = self._depts.get(dept) or _Bucket()
            agents = [a for a in agents if serves(a, dept)]
        waits = b.waits
        queue: dict[str, Any] = {
            "count": len(waits),
            "longest_wait_ms": max(waits) if waits else None,
            "median_wait_ms": median(waits),
            "by_department": dict(sorted(b.queued_by_department.items())),
        }
        team = agent_figures(agents)
        online = [a for a in agents if a["status"] == "online"]
        free = sum(max(0, int(a["capacity"]) - int(a["load"])) for a in online)
        total = sum(int(a["capacity"]) for a in online)
        queue["next_estimated_wait_s"], queue["next_opens_at"] = next_visitor_wait(
            queue["count"],
            free,
            total,
            len(online),
            handle_seconds,
            self.now,
            hours_of(self.business, dept),
        )
        lost = sorted(b.unowned)
        return {
            "queue": queue,
            "agents": team,
            "in_progress": b.in_progress,
            "unresolved": {"count": b.unresolved.count, "items": self._shown(b.unresolved.first())},
            "unowned": {"count": len(lost), "items": lost[:LIST_LIMIT]},
            "sla": {
                "first_target_ms": self.first_target_ms,
                "next_target_ms": self.next_target_ms,
                "breached": b.breached.count,
                "at_risk": b.at_risk.count,
                "breached_items": self._shown(b.breached.first()),
                "at_risk_items": self._shown(b.at_risk.first()),
            },
        }
