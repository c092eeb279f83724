"""The supervisors' dashboard: its page, its JSON API and conversation search (its socket is
chatserver/dashboard_ws.py).

Supervisors and admins only (agents get 403); each sees their own site. The JSON API takes
the console's session cookie or a bearer token from ``POST /api/login``; docs/metrics.md
documents every figure.
"""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.websockets import WebSocket

from chatserver import notices
from chatserver.agent_actions import team_members
from chatserver.core import window_figures as m
from chatserver.core.exports import MAX_ROWS, REPORT_DAYS
from chatserver.core.notices import NoticeError
from chatserver.core.states import Status
from chatserver.core.text import fold
from chatserver.dashboards import Dashboards, department_filter
from chatserver.search import match_text, search
from chatserver.sessions import TWO_FACTOR_SETUP, VIEW_ROLES
from chatserver.store import Store
from chatserver.store.search import Filters, Viewer
from console.common import client_ip, csrf_ok, current_account, page, render, services_of
from console.export_routes import routes as export_routes

SEARCH_DAYS = 7  # the default date range of a search, ending today
MAX_SEARCH_DAYS = 31
SEARCH_LIMIT = 50
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
            "export_max_rows": MAX_ROWS,
            "report_days": REPORT_DAYS,
            "labels": await services_of(request).store.labels(me["site"]),
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
    """Conversations by visitor, agent, status, date and text, from the search index."""
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
    label = q.get("label", "")
    if label and not await store.has_label(account["site"], label[:60]):
        return _error(400, "invalid_field", "no such label")
    agent = await _agent_id(store, account["site"], q.get("agent", "").strip()[:200])
    if agent is None:  # no agent of the site has that name
        return JSONResponse(
            {
                "from": start,
                "to": end,
                "items": [],
                "scanned": 0,
                "text_scanned": 0,
                "truncated": False,
            }
        )
    # The index (chatserver/search.py): words of the text and of the visitor's name or e-mail,
    # AND-ed, over every conversation of the range, not a bounded scan.
    words = " ".join(
        x for x in (q.get("visitor", "").strip()[:200], q.get("text", "").strip()[:200]) if x
    )
    page = await search(
        store,
        account["site"],
        words,
        Filters(agent=agent, status=status, label=label, start=start, end=end),
        Viewer(),
        limit=SEARCH_LIMIT,
    )
    items = [{**item, "match": match_text(item)} for item in page.items]
    return JSONResponse(
        {
            "from": start,
            "to": end,
            "items": items,
            "scanned": len(items),
            "text_scanned": 0,
            "truncated": page.next is not None,
            "next_cursor": page.cursor,
        }
    )


async def _agent_id(store: Store, site: str, agent: str) -> str | None:
    """The agent filter as an id: an id as given, else the first agent of the site whose name
    holds it (folded); '' for no filter, None when nobody matches."""
    if not agent or agent.startswith("a_"):
        return agent
    needle = fold(agent)
    for member in await team_members(store, site):
        if needle in fold(str(member.get("name", ""))):
            return str(member.get("id", ""))
    return None


# --- the site's notice (chatserver/notices.py; docs/protocol.md, Notices) -----------------

_NOTICE_BODY_MAX = 16 * 1024


async def notice_api(request: Request) -> Response:
    """GET: the site's notice (``{"notice": … | null}``); PUT ``{"text": {"en", "fa"},
    "expires_at" | "expires_in"}`` posts or replaces it; DELETE takes it down. PUT and
    DELETE carry the page's CSRF token in ``X-CSRF-Token`` (a bearer token needs none)."""
    account = await _supervisor(request)
    if isinstance(account, Response):
        return account
    services, site = services_of(request), account["site"]
    if request.method == "GET":
        found = await services.store.notice(site, services.hub.clock())
        return JSONResponse({"notice": found.staff() if found else None})
    bearer = request.headers.get("authorization", "").lower().startswith("bearer ")
    if not bearer and not csrf_ok(request, request.headers.get("x-csrf-token")):
        return _error(403, "forbidden", "the page's CSRF token is missing; reload the page")
    via = f"from {client_ip(request)}"
    if request.method == "DELETE":
        ended = await notices.end(services, site, account["id"], account.get("name", ""), via)
        return JSONResponse({"ended": ended})
    raw = await request.body()
    if len(raw) > _NOTICE_BODY_MAX:
        return _error(413, "too_large", "the request body is larger than 16 KiB")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict):
        return _error(400, "invalid_json", "the body is a JSON object")
    try:
        posted = await notices.post(
            services, site, body, account["id"], account.get("name", ""), via
        )
    except NoticeError as exc:
        return _error(400, exc.code, str(exc))
    return JSONResponse({"notice": posted.staff()})


routes = [
    Route("/dashboard", dashboard_page, methods=["GET"]),
    Route("/api/console/notice", notice_api, methods=["GET", "PUT", "DELETE"]),
    Route("/api/metrics/dashboard", dashboard_api, methods=["GET"]),
    Route("/api/metrics/conversations", search_api, methods=["GET"]),
    *export_routes,
]
