"""CSV downloads: a site's conversations, and the dashboard's report per day or per agent.

Both are streamed (the store is read a page at a time while the response is written, so no
export holds a site in memory) and bounded (chatserver.core.exports: at most MAX_ROWS rows,
or fewer when the request asks, the last row saying the file was cut). A console session or
a bearer token is required (401 without, JSON like the dashboard's API); supervisors and
admins export their whole site, an agent only the conversations they hold or held. Each
export is written to the site's audit log (action ``csv_export``) before its first byte.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, tzinfo
from typing import Any

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from chatserver.core import exports as x
from chatserver.core import window_figures as m
from chatserver.core.labels import conversation_label_ids, resolve_labels
from chatserver.core.states import Status
from chatserver.dashboards import Dashboards, department_filter
from chatserver.sessions import TWO_FACTOR_SETUP, VIEW_ROLES
from console import i18n
from console.common import client_ip, current_account, services_of

CONVERSATION_DAYS = 7  # the default range of a conversation export, ending today
_STATUSES = frozenset(s.value for s in Status)
_DAY_MS = 24 * m.HOUR_MS


def _error(status: int, code: str, message: str) -> Response:
    return JSONResponse({"error": code, "message": message}, status_code=status)


async def _account(request: Request, roles: frozenset[str] | None) -> dict[str, str] | Response:
    account = await current_account(request)
    if account is None and request.state.refusal == TWO_FACTOR_SETUP:
        return _error(403, TWO_FACTOR_SETUP, "set up two-factor sign-in at /account first")
    if account is None:
        return _error(401, "unauthorized", "sign in first")
    if roles is not None and account.get("role") not in roles:
        return _error(403, "forbidden", "supervisors and admins only")
    return account


def _range(
    q: QueryParams, tz: tzinfo, now: int, default_days: int, max_days: int
) -> tuple[int, int] | Response:
    """``from`` and ``to`` (YYYY-MM-DD, both days included, in the site's time zone), by
    default the last ``default_days`` days ending today."""
    try:
        end = m.day_bounds(q["to"], tz)[1] if q.get("to") else m.day_start(now, tz) + _DAY_MS
        start = (
            m.day_bounds(q["from"], tz)[0]
            if q.get("from")
            else m.day_start(now, tz) - (default_days - 1) * _DAY_MS
        )
    except ValueError:
        return _error(400, "invalid_field", "dates look like 2024-03-05")
    # An hour of slack: a day the clocks change is 25 hours long.
    if end <= start or end - start > max_days * _DAY_MS + m.HOUR_MS:
        return _error(400, "invalid_field", f"an export covers 1 to {max_days} days")
    return start, end


def _limit(q: QueryParams) -> int | Response:
    try:
        limit = int(q.get("limit") or x.MAX_ROWS)
    except ValueError:
        return _error(400, "invalid_field", "limit is a number of rows")
    if not 1 <= limit <= x.MAX_ROWS:
        return _error(400, "invalid_field", f"limit is 1 to {x.MAX_ROWS} rows")
    return limit


def _download(rows: AsyncIterator[str], name: str, limit: int) -> StreamingResponse:
    return StreamingResponse(
        rows,
        media_type="text/csv; charset=utf-8",
        headers={
            "content-disposition": f'attachment; filename="{name}"',
            "cache-control": "no-store",
            "x-export-limit": str(limit),
        },
    )


def _day(ms: int, tz: tzinfo) -> str:
    return datetime.fromtimestamp(ms / 1000, tz).date().isoformat()


async def _record(
    request: Request, me: dict[str, str], now: int, what: str, detail: dict[str, str]
) -> None:
    shown = " ".join(f"{k}={v}" for k, v in detail.items() if v)
    await services_of(request).store.audit(
        me["site"],
        "csv_export",
        me.get("id", ""),
        me.get("name", ""),
        now,
        f"{what} {shown} from {client_ip(request)}",
    )


def _note_locale(request: Request, me: dict[str, str], site: dict[str, str]) -> str:
    return i18n.page_locale(
        me, request.headers.get("accept-language", ""), site.get("locale", "")
    ).locale


async def conversations_csv(request: Request) -> Response:
    """One row per conversation created in the range that passes the filters."""
    me = await _account(request, None)
    if isinstance(me, Response):
        return me
    q = request.query_params
    store = services_of(request).store
    dashboards: Dashboards = request.app.state.dashboards
    site_cfg = await store.get_site(me["site"]) or {}
    tz = await dashboards.site_tz(site_cfg)
    now = dashboards.clock()
    span = _range(q, tz, now, CONVERSATION_DAYS, x.MAX_RANGE_DAYS)
    if isinstance(span, Response):
        return span
    limit = _limit(q)
    if isinstance(limit, Response):
        return limit
    status = q.get("status", "")
    if status and status not in _STATUSES:
        return _error(400, "invalid_field", "unknown status")
    try:
        dept = department_filter(q.get("department")) or ""
    except ValueError as exc:
        return _error(400, "invalid_field", str(exc))
    # What an agent's role may see of the site's history: their own conversations.
    own = "" if me.get("role") in VIEW_ROLES else me.get("id", "")
    keep = x.ConversationFilter(status, dept, q.get("agent", "").strip()[:200], own)
    start, end = span
    locale = _note_locale(request, me, site_cfg)
    await _record(
        request,
        me,
        now,
        "conversations",
        {
            "from": _day(start, tz),
            "to": _day(end - 1, tz),
            "status": status,
            "department": dept,
            "agent": keep.agent,
            "own": "yes" if own else "",
            "limit": str(limit),
        },
    )

    labels = await store.labels(me["site"])

    def names(conv: dict[str, str]) -> list[str]:
        return [
            lab.name for lab in resolve_labels(conversation_label_ids(conv.get("labels")), labels)
        ]

    async def rows() -> AsyncIterator[str]:
        yield x.BOM + x.encode([x.CONVERSATION_HEADER])
        written = scanned = 0
        async for ids in store.conversations_between(me["site"], start, end):
            scanned += len(ids)
            items = await store.export_items(me["site"], ids, keep.keeps)
            take = items[: limit - written]
            yield x.encode(
                x.conversation_row(i.conv, i.email, i.messages, names(i.conv)) for i in take
            )
            written += len(take)
            if len(take) < len(items):
                note = i18n.translate(locale, "tools.export_cut", n=limit)
                yield x.encode([x.cut_row(note)])
                return
            if scanned >= x.MAX_SCAN:
                note = i18n.translate(locale, "tools.export_scan_cut", n=x.MAX_SCAN)
                yield x.encode([x.cut_row(note)])
                return

    name = f"conversations-{me['site']}-{_day(start, tz)}-{_day(end - 1, tz)}.csv"
    return _download(rows(), name, limit)


async def dashboard_csv(request: Request) -> Response:
    """The dashboard's figures per day (``rows=days``) or per agent and day (``rows=agents``)
    over the days its hourly records still cover."""
    me = await _account(request, VIEW_ROLES)
    if isinstance(me, Response):
        return me
    q = request.query_params
    store = services_of(request).store
    dashboards: Dashboards = request.app.state.dashboards
    site = me["site"]
    tz = await dashboards.site_tz(await store.get_site(site))
    now = dashboards.clock()
    span = _range(q, tz, now, 1, x.REPORT_DAYS)
    if isinstance(span, Response):
        return span
    start, end = span
    if start < m.day_start(now, tz) - (x.REPORT_DAYS - 1) * _DAY_MS:
        return _error(400, "invalid_field", f"the dashboard keeps the last {x.REPORT_DAYS} days")
    kind = q.get("rows", "days")
    if kind not in ("days", "agents"):
        return _error(400, "invalid_field", "rows is days or agents")
    try:
        dept = department_filter(q.get("department"))
    except ValueError as exc:
        return _error(400, "invalid_field", str(exc))
    await _record(
        request,
        me,
        now,
        f"dashboard_{kind}",
        {"from": _day(start, tz), "to": _day(end - 1, tz), "department": dept or ""},
    )
    await store.fold_metrics(site)
    agents = await store.live_agents(site)

    site_labels = await store.labels(site) if kind == "days" else []

    async def rows() -> AsyncIterator[str]:
        if kind == "days":  # a column per label of the site: the day's conversations with it
            header = [*x.DAY_HEADER, *x.label_header([lab.name for lab in site_labels])]
        else:
            header = list(x.AGENT_HEADER)
        yield x.BOM + x.encode([header])
        # One day's records at a time (and the next day's, for online periods that began
        # this day and ended after it), never the whole range.
        for date, lo, hi in x.days_of(start, min(end, now + 1), tz):
            records = await store.metric_records(site, lo, min(hi + _DAY_MS, now + 1))
            if kind == "days":
                row = x.day_row(date, m.window_figures(m.in_window(records, lo, hi, dept)))
                if site_labels:
                    counts = await store.label_counts(site, lo, hi, dept)
                    row += [str(c["count"]) for c in counts]
                yield x.encode([row])
                continue
            mine = [
                r for r in records if dept is None or r.dept == dept or r.kind in ("online", "away")
            ]
            known = {str(a["id"]) for a in agents}
            # Agents since removed still have their day (named by id).
            gone = sorted({r.agent for r in mine if r.agent and r.agent not in known})
            every = [*agents, *({"id": a, "name": ""} for a in gone)]
            report = m.agent_report(mine, every, lo, min(hi, now + 1))
            yield x.encode(
                x.agent_row(date, r)
                for r in report
                if dept is None or r["chats_handled"] or _in_dept(agents, str(r["id"]), dept)
            )

    name = f"dashboard-{kind}-{site}-{_day(start, tz)}-{_day(end - 1, tz)}.csv"
    return _download(rows(), name, x.MAX_ROWS)


def _in_dept(agents: list[dict[str, Any]], agent_id: str, dept: str) -> bool:
    for a in agents:
        if str(a["id"]) == agent_id:
            return dept in a.get("departments", [])
    return False


routes = [
    Route("/export/conversations.csv", conversations_csv, methods=["GET"]),
    Route("/export/dashboard.csv", dashboard_csv, methods=["GET"]),
]
