"""The supervisors' dashboard: its page, its JSON API and conversation search (its socket is
chatserver/dashboard_ws.py).

Supervisors and admins only (agents get 403); each sees their own site. The JSON API takes
the console's session cookie or a bearer token from ``POST /api/login``; docs/metrics.md
documents every figure.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.websockets import WebSocket

from chatserver.core import window_figures as m
from chatserver.core.states import Status
from chatserver.dashboards import Dashboards, department_filter
from chatserver.sessions import TWO_FACTOR_SETUP, VIEW_ROLES
from console.common import current_account, page, render, services_of

SEARCH_DAYS = 7  # the default date range of a search, ending today
MAX_SEARCH_DAYS = 31
_STATUSES = frozenset(s.value for s in Status)


def dashboards_of(request: Request | WebSocket) -> Dashboards:
    dashboards: Dashboards = request.app.state.dashboards
    return dashboards


def _error(status: int, code: str, message: str) -> Response:
    return JSONResponse({"error": code, "message": message}, status_code=status)


async def _supervisor(request: Request) -> dict[str, str] | Response:
    account = await current_account(request)
    if account is None and request.state.refusal == TWO_FACTOR_SETUP:
        return _error(403, TWO_FACTOR_SETUP, "set up two-factor sign-in at /account first")
    if account is None:
        return _error(401, "unauthorized", "sign in first")
    if account.get("role") not in VIEW_ROLES:
        return _error(403, "forbidden", "supervisors and admins only")
    return account


@page(VIEW_ROLES)
async def dashboard_page(request: Request, me: dict[str, str]) -> Response:
    site = await services_of(request).store.get_site(me["site"]) or {}
    return render(
        request,
        "dashboard.html",
        {
            "me": me,
            "site_name": site.get("name", me["site"]),
            "site_locale": site.get("locale", ""),
            "section": "dashboard",
        },
    )


async def dashboard_api(request: Request) -> Response:
    """Every figure of the dashboard, as the socket sends it (docs/metrics.md)."""
    account = await _supervisor(request)
    if isinstance(account, Response):
        return account
    try:
        dept = department_filter(request.query_params.get("department"))
    except ValueError as exc:
        return _error(400, "invalid_field", str(exc))
    return JSONResponse(await dashboards_of(request).figures(account["site"], dept))


async def search_api(request: Request) -> Response:
    """Conversations by visitor, agent, status, date and text; bounded (docs/metrics.md)."""
    account = await _supervisor(request)
    if isinstance(account, Response):
        return account
    q = request.query_params
    dashboards = dashboards_of(request)
    store = services_of(request).store
    tz = await dashboards.site_tz(await store.get_site(account["site"]))
    now = dashboards.clock()
    try:
        if q.get("date"):
            start, end = m.day_bounds(q["date"], tz)
        else:
            end = m.day_bounds(q["to"], tz)[1] if q.get("to") else now + 1
            start = (
                m.day_bounds(q["from"], tz)[0]
                if q.get("from")
                else m.day_start(now, tz) - (SEARCH_DAYS - 1) * 24 * m.HOUR_MS
            )
    except ValueError:
        return _error(400, "invalid_field", "dates look like 2024-03-05")
    if end <= start or end - start > MAX_SEARCH_DAYS * 24 * m.HOUR_MS + m.HOUR_MS:
        return _error(400, "invalid_field", f"a search covers 1 to {MAX_SEARCH_DAYS} days")
    status = q.get("status", "")
    if status and status not in _STATUSES:
        return _error(400, "invalid_field", "unknown status")
    result = await store.search_conversations(
        account["site"],
        start,
        end,
        status=status,
        visitor=q.get("visitor", "").strip()[:200],
        agent=q.get("agent", "").strip()[:200],
        text=q.get("text", "").strip()[:200],
    )
    return JSONResponse(
        {
            "from": start,
            "to": end,
            "items": [_row(c) for c in result.items],
            "scanned": result.scanned,
            "text_scanned": result.text_scanned,
            "truncated": result.truncated,
        }
    )


def _row(conv: dict[str, str]) -> dict[str, Any]:
    def ms(name: str) -> int | None:
        return int(conv[name]) if conv.get(name) else None

    return {
        "id": conv.get("id", ""),
        "status": conv.get("status", ""),
        "department": conv.get("department", ""),
        "visitor": conv.get("visitor", ""),
        "visitor_name": conv.get("visitor_name", ""),
        "agent": conv.get("agent", ""),
        "agent_name": conv.get("agent_name", ""),
        "created_at": ms("created_at"),
        "ended_at": ms("ended_at"),
        "rating": int(conv["rating"]) if conv.get("rating") else None,
        "preview": conv.get("preview", ""),
        "match": conv.get("match"),
    }


routes = [
    Route("/dashboard", dashboard_page, methods=["GET"]),
    Route("/api/metrics/dashboard", dashboard_api, methods=["GET"]),
    Route("/api/metrics/conversations", search_api, methods=["GET"]),
]
