"""Conversation search for every signed-in agent: ``GET /api/console/search``.

An agent searches their own site and finds the chats their role may see (agents: those they
hold, joined or wrote in, and their departments'; supervisors and admins: all). The
dashboard's search (console/dashboard_routes.py) reads the same index.
"""

from __future__ import annotations

from datetime import tzinfo

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chatserver.core import window_figures as m
from chatserver.core.states import Status
from chatserver.search import parse_cursor, search, viewer_of
from chatserver.store.search import Filters
from console.api_routes import _error, _refused
from console.common import current_account, services_of

PAGE = 20
STATUSES = frozenset({*(s.value for s in Status), "open"})


def date_range(q: dict[str, str], tz: tzinfo) -> tuple[int, int]:
    """``from`` and ``to`` (YYYY-MM-DD, both days included, in the site's time zone) as
    [start, end) ms, 0 for an open end; raises ValueError when malformed."""
    start = m.day_bounds(q["from"], tz)[0] if q.get("from") else 0
    end = m.day_bounds(q["to"], tz)[1] if q.get("to") else 0
    return start, end


def filters_of(q: dict[str, str], tz: tzinfo) -> Filters | str:
    """The filters of a query string, or what is wrong with it."""
    status = q.get("status", "")
    if status and status not in STATUSES:
        return "unknown status"
    rating = q.get("rating", "")
    if rating and not (rating.isdigit() and 1 <= int(rating) <= 5):
        return "a rating is 1 to 5"
    try:
        start, end = date_range(q, tz)
    except ValueError:
        return "dates look like 2024-03-05"
    agent = q.get("agent", "")
    if len(agent) > 60:
        return "unknown agent"
    return Filters(agent, status, rating, q.get("label", "")[:60], start, end)


async def search_api(request: Request) -> Response:
    account = await current_account(request)
    if account is None:
        return _refused(request)
    services = services_of(request)
    site = account["site"]
    q = dict(request.query_params)
    filters = filters_of(
        q, await request.app.state.dashboards.site_tz(await services.store.get_site(site))
    )
    if isinstance(filters, str):
        return _error(400, "invalid_field", filters)
    if filters.label and not await services.store.has_label(site, filters.label):
        return _error(400, "invalid_field", "no such label")
    page = await search(
        services.store,
        site,
        q.get("q", "")[:200],
        filters,
        viewer_of(account),
        parse_cursor(q.get("cursor")),
        PAGE,
    )
    return JSONResponse({"items": page.items, "next_cursor": page.cursor})


routes = [Route("/api/console/search", search_api, methods=["GET"])]
