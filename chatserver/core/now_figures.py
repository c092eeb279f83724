"""The dashboard's "now": queue, agents, chats in progress, unresolved chats and response
targets, from the live state the store reads. Pure, no I/O; the time is an argument.

A response target is *breached* once the business time (the office hours of the chat's
department, else the site's, see :mod:`chatserver.core.business_clock`) since the visitor's
unanswered message reaches the site's target (the same rule as the durable SLA timers, so
the screen agrees with the breach records), and *at risk* from :data:`AT_RISK` of the target
on. The waits shown beside it are wall time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from chatserver.core.business_clock import ALWAYS_OPEN, BusinessClock
from chatserver.core.department_hours import CHANGES_FIELD, DepartmentClocks
from chatserver.core.estimate import DEFAULT_HANDLE_SECONDS, hours_of, next_visitor_wait
from chatserver.core.states import HANDLED_STATUSES
from chatserver.core.window_figures import median

AT_RISK = 0.8  # share of a response target after which a waiting chat shows as at risk
LIST_LIMIT = 50  # rows of each list the dashboard shows (counts are always complete)

Conv = Mapping[str, str]


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


def serves(agent: Mapping[str, Any], dept: str | None) -> bool:
    depts = agent.get("departments") or []
    return dept is None or not dept or not depts or dept in depts


def queue_figures(queued: Sequence[Conv], now: int) -> dict[str, Any]:
    waits = [max(0, now - _int(c.get("queued_at"))) for c in queued]
    by_dept: dict[str, int] = {}
    for c in queued:
        by_dept[c.get("department", "")] = by_dept.get(c.get("department", ""), 0) + 1
    return {
        "count": len(queued),
        "longest_wait_ms": max(waits) if waits else None,
        "median_wait_ms": median(waits),
        "by_department": dict(sorted(by_dept.items())),
    }


def agent_figures(agents: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Counts by status (an agent without a live heartbeat is offline) and each one's load."""
    counts = {"online": 0, "away": 0, "offline": 0}
    rows = []
    for a in agents:
        status = a["status"] if a["status"] in counts else "offline"
        counts[status] += 1
        rows.append(
            {
                "id": a["id"],
                "name": a.get("name", ""),
                "status": status,
                "load": int(a.get("load", 0)),
                "capacity": int(a.get("capacity", 0)),
                "departments": list(a.get("departments") or []),
            }
        )
    order = {"online": 0, "away": 1, "offline": 2}
    rows.sort(key=lambda r: (order[r["status"]], str(r["name"]).lower(), r["id"]))
    working = [r for r in rows if r["status"] != "offline"]
    return {
        **counts,
        "load": sum(r["load"] for r in working),
        "capacity": sum(r["capacity"] for r in working),
        "list": rows,
    }


def sla_clock(
    conv: Conv,
    now: int,
    first_target_ms: int,
    next_target_ms: int,
    business: BusinessClock | DepartmentClocks = ALWAYS_OPEN,
) -> dict[str, Any]:
    """Which response target a chat is waiting on, the business time it has waited, and its
    state. ``business``: one clock for every chat, or the site's clocks by department (each
    chat's own, following its transfers).

    ``state`` is "none" (nobody is owed a reply or the target is off), "ok", "at_risk" or
    "breached".
    """
    first_msg, first_reply = (
        _int(conv.get("first_visitor_msg_at")),
        conv.get("first_agent_reply_at"),
    )
    unanswered = _int(conv.get("unanswered_since"))
    if first_msg and not first_reply:
        which, since, target = "first", first_msg, first_target_ms
    elif first_reply and unanswered:
        which, since, target = "next", unanswered, next_target_ms
    else:
        return {"target": None, "elapsed_ms": None, "target_ms": None, "state": "none"}
    if isinstance(business, DepartmentClocks):
        dept, changes = conv.get("department", ""), conv.get(CHANGES_FIELD)
        elapsed = business.elapsed(dept, changes, since, now)
    else:
        elapsed = business.elapsed(since, now)
    if target <= 0:
        state = "none"
    elif elapsed >= target:
        state = "breached"
    elif elapsed >= AT_RISK * target:
        state = "at_risk"
    else:
        state = "ok"
    return {"target": which, "elapsed_ms": elapsed, "target_ms": target, "state": state}


def conversation_row(conv: Conv, now: int, clock: Mapping[str, Any]) -> dict[str, Any]:
    last_reply = _int(conv.get("last_agent_msg_at"))
    unanswered = _int(conv.get("unanswered_since"))
    return {
        "id": conv.get("id", ""),
        "status": conv.get("status", ""),
        "department": conv.get("department", ""),
        "visitor_name": conv.get("visitor_name", ""),
        "agent": conv.get("agent", ""),
        "agent_name": conv.get("agent_name", ""),
        "since_last_reply_ms": now - last_reply if last_reply else None,
        "waiting_ms": now - unanswered if unanswered else None,
        "sla": clock,
    }


def now_figures(
    queued: Sequence[Conv],
    agents: Sequence[Mapping[str, Any]],
    open_convs: Sequence[Conv],
    now: int,
    first_target_ms: int,
    next_target_ms: int,
    dept: str | None = None,
    handle_seconds: float = DEFAULT_HANDLE_SECONDS,
    unowned: Sequence[str] = (),
    business: BusinessClock | DepartmentClocks = ALWAYS_OPEN,
) -> dict[str, Any]:
    """Everything the "now" panel shows, for one department when ``dept`` is not None.

    ``unowned``: the ids of open conversations found with neither an owner nor a queue entry
    (the invariant; the store re-checks them atomically). Any is a defect to raise an alarm
    for: the sweeper repairs them, but nobody answers such a chat until it does.

    ``agents``: mappings with id, name, status (already "offline" without a heartbeat), load,
    capacity, departments (empty: every department). ``handle_seconds`` feeds the estimated
    wait of the next visitor (see :mod:`chatserver.core.estimate`), which is None with an
    empty queue or with nobody online to take a chat. ``business`` is the clock the SLA
    targets run on (the site's office hours), or the clocks by department.
    """
    if dept is not None:
        queued = [c for c in queued if c.get("department", "") == dept]
        open_convs = [c for c in open_convs if c.get("department", "") == dept]
        agents = [a for a in agents if serves(a, dept)]
    queue = queue_figures(queued, now)
    team = agent_figures(agents)
    online = [a for a in agents if a["status"] == "online"]
    free = sum(max(0, int(a["capacity"]) - int(a["load"])) for a in online)
    total = sum(int(a["capacity"]) for a in online)
    # With nobody queued there is no next visitor to estimate for: a number here would read
    # as someone waiting.
    queue["next_estimated_wait_s"], queue["next_opens_at"] = next_visitor_wait(
        queue["count"],
        free,
        total,
        len(online),
        handle_seconds,
        now,
        hours_of(business, dept),
    )
    rows = []
    for conv in open_convs:
        clock = sla_clock(conv, now, first_target_ms, next_target_ms, business)
        rows.append(conversation_row(conv, now, clock))
    # Who has waited longest for a reply first, then the chats nobody owes a reply to.
    rows.sort(key=lambda r: (-(r["waiting_ms"] or -1), r["id"]))
    shown = {c.get("id", "") for c in open_convs}
    lost = sorted(cid for cid in unowned if cid in shown)
    breached = [r for r in rows if r["sla"]["state"] == "breached"]
    at_risk = [r for r in rows if r["sla"]["state"] == "at_risk"]
    return {
        "queue": queue,
        "agents": team,
        "in_progress": sum(1 for c in open_convs if c.get("status") in HANDLED_STATUSES),
        "unresolved": {"count": len(rows), "items": rows[:LIST_LIMIT]},
        "unowned": {"count": len(lost), "items": lost[:LIST_LIMIT]},
        "sla": {
            "first_target_ms": first_target_ms,
            "next_target_ms": next_target_ms,
            "breached": len(breached),
            "at_risk": len(at_risk),
            "breached_items": breached[:LIST_LIMIT],
            "at_risk_items": at_risk[:LIST_LIMIT],
        },
    }


def gauges(
    now_panel: Mapping[str, Any], by_dept: Mapping[str, Mapping[str, Any]]
) -> dict[str, int]:
    """The per-minute samples kept for the charts: queue length and longest wait, site-wide
    (``*``) and per department."""
    out: dict[str, int] = {}
    panels = {"*": now_panel, **by_dept}
    for name, panel in panels.items():
        q = panel["queue"]
        out[f"queue|{name}"] = int(q["count"])
        out[f"wait|{name}"] = int(q["longest_wait_ms"] or 0)
    out["online|*"] = int(now_panel["agents"]["online"])
    return out
