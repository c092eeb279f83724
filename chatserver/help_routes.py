"""The widget's help articles API (docs/protocol.md, "Help articles in the widget"): public,
per site, open to any origin like ``/api/widget/config``.

- ``GET /api/widget/articles?site=&q=&lang=&page=``: at most three published articles for
  the visitor who is typing ``q`` on ``page``: the ones pinned to the page first (even with no
  ``q``), then the best search matches, all in ``lang`` (else the site's language).
- ``GET /api/widget/articles/{id}?site=``: one published article, its Markdown rendered to
  safe HTML (chatserver/core/articles.render_markdown).
- ``POST /api/widget/articles/{id}/deflected?site=``: the visitor said it answered their
  question; counted per site and day (the site's day, as the dashboard's "today").
- ``POST /api/widget/articles/read?site=``, JSON ``{token, conversation_id, articles}``: the
  visitor who then wrote read these articles first; each joins the visit's pages (at its
  public help page's address), which the agent's visitor details list.

The public help page itself is console/help_pages.py.
"""

from __future__ import annotations

import secrets
from datetime import UTC
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chatserver.auth import verify_visitor_token
from chatserver.config import valid_site_name
from chatserver.core.articles import ARTICLE_ID, LANGUAGES, Article, pinned_to, render_markdown
from chatserver.core.articles import search as search_articles
from chatserver.core.hours import parse_office_hours
from chatserver.core.retention import retention_days, retention_ms
from chatserver.core.window_figures import day_start
from chatserver.events import VisitorChanged
from chatserver.services import Services

MAX_SUGGESTIONS = 3
MAX_QUERY = 200  # characters
DEFLECTIONS_PER_IP_HOUR = 10  # counted per site and client address
HOUR_MS = 3_600_000
MAX_BODY = 4096  # bytes of a read report
MAX_READ = 10  # articles one report of what was read names
MAX_PAGE = 2048  # characters of a page URL, as the widget's page frame
_HEADERS = {"Cache-Control": "no-store", "Access-Control-Allow-Origin": "*"}


def _error(status: int, code: str, message: str) -> Response:
    return JSONResponse({"error": code, "message": message}, status_code=status, headers=_HEADERS)


def _ok(body: dict[str, Any]) -> Response:
    return JSONResponse(body, headers=_HEADERS)


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def _site(request: Request) -> tuple[str, dict[str, str]] | Response:
    services = _services(request)
    site = request.query_params.get("site") or services.settings.default_site
    cfg = await services.hub.site_config(site) if valid_site_name(site) else None
    if cfg is None:
        return _error(404, "unknown_site", "no such site")
    return site, cfg


def _url(site: str, article: Article) -> str:
    return f"/help/{site}/{article.id}"


def _summary(site: str, article: Article, pinned: bool = False) -> dict[str, Any]:
    return {**article.summary(), "url": _url(site, article), "pinned": pinned}


async def _published(request: Request, site: str) -> list[Article]:
    return [a for a in await _services(request).store.articles(site) if a.published]


async def suggestions(request: Request) -> Response:
    found = await _site(request)
    if isinstance(found, Response):
        return found
    site, cfg = found
    q = request.query_params
    lang = q.get("lang", "")
    if lang and lang not in LANGUAGES:
        return _error(400, "invalid_lang", f"lang is one of {', '.join(LANGUAGES)}")
    if not lang:
        lang = "fa" if cfg.get("locale", "").lower().startswith("fa") else "en"
    query, page = q.get("q", ""), q.get("page", "")
    if len(query) > MAX_QUERY:
        return _error(400, "query_too_long", f"q is at most {MAX_QUERY} characters")
    if len(page) > MAX_PAGE or (page and not page.startswith(("http://", "https://"))):
        return _error(400, "invalid_page", f"page is an http(s) URL of at most {MAX_PAGE}")
    mine = [a for a in await _published(request, site) if a.lang == lang]
    pinned = [a for a in mine if pinned_to(a, page)]
    rest = [a for a in search_articles(mine, query, every=False) if a not in pinned]
    items = [_summary(site, a, True) for a in pinned[:MAX_SUGGESTIONS]]
    items += [_summary(site, a) for a in rest[: MAX_SUGGESTIONS - len(items)]]
    return _ok({"items": items})


async def _article(request: Request) -> tuple[str, dict[str, str], Article] | Response:
    found = await _site(request)
    if isinstance(found, Response):
        return found
    article_id = request.path_params["article_id"]
    article = (
        await _services(request).store.article(found[0], article_id)
        if ARTICLE_ID.match(article_id)
        else None
    )
    if article is None or not article.published:
        return _error(404, "not_found", "no such published article")
    return found[0], found[1], article


async def article(request: Request) -> Response:
    found = await _article(request)
    if isinstance(found, Response):
        return found
    site, _, art = found
    return _ok({**_summary(site, art), "html": render_markdown(art.body)})


async def deflected(request: Request) -> Response:
    found = await _article(request)
    if isinstance(found, Response):
        return found
    site, cfg, art = found
    services = _services(request)
    now = services.hub.clock()
    # Anyone may say so, so one address cannot run the count up (per site, an hour).
    ip = services.limits.client_ip(request.scope, request.headers)
    if not services.limits.exempt(ip):
        key = services.store.k.ip_limit(f"deflect:{site}", ip)
        wait, _ = await services.store.take_lease(
            [(key, DEFLECTIONS_PER_IP_HOUR, now + HOUR_MS)], secrets.token_hex(8), now
        )
        if wait:
            return _error(429, "rate_limited", "too many answers counted from this address")
    try:
        hours = parse_office_hours(cfg.get("office_hours"))
    except ValueError:
        hours = None
    # The site's day, as the dashboard's "today" (its office hours' time zone, else UTC).
    day = day_start(now, hours.tz if hours is not None else UTC)
    count = await services.store.count_deflection(site, day)
    return _ok({"counted": True, "today": count, "article": art.id})


async def preflight(request: Request) -> Response:
    return Response(
        status_code=204,
        headers={
            **_HEADERS,
            "Access-Control-Allow-Methods": "GET, POST",
            "Access-Control-Max-Age": "86400",
        },
    )


async def read(request: Request) -> Response:
    found = await _site(request)
    if isinstance(found, Response):
        return found
    site, cfg = found
    raw = await request.body()
    try:
        body = orjson.loads(raw) if len(raw) <= MAX_BODY else None
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict):
        return _error(400, "invalid_json", "the body is a JSON object of at most 4 KB")
    services = _services(request)
    settings, now = services.settings, services.hub.clock()
    token, conv_id, ids = body.get("token"), body.get("conversation_id"), body.get("articles")
    visitor = (
        verify_visitor_token(
            settings.secret_key, token, site, now // 1000, settings.old_secret_keys
        )
        if isinstance(token, str)
        else None
    )
    if visitor is None:
        return _error(401, "invalid_token", "token is the visitor's token from the welcome")
    if (
        not isinstance(ids, list)
        or not 1 <= len(ids) <= MAX_READ
        or not all(isinstance(i, str) and ARTICLE_ID.match(i) for i in ids)
    ):
        return _error(400, "invalid_field", f"articles is a list of 1 to {MAX_READ} article ids")
    conv = (
        await services.store.get_conversation(site, conv_id)
        if isinstance(conv_id, str) and len(conv_id) <= 64
        else None
    )
    if conv is None or conv.get("visitor") != visitor:
        return _error(404, "not_found", "no such conversation of this visitor")
    published = {a.id: a for a in await _published(request, site)}
    wanted = [published[i] for i in dict.fromkeys(ids) if i in published]
    if len(wanted) != len(set(ids)):
        return _error(404, "not_found", "no such published article")
    base = settings.public_url or str(request.base_url).rstrip("/")
    keep = retention_ms(retention_days(cfg))
    for art in wanted:
        # One entry of the visit's pages (what the agent's visitor details list), at the
        # article's public page: the agent sees what the visitor read, and can open it.
        page = (base + _url(site, art), art.title)
        await services.store.visitor_page(site, visitor, now, keep, page)
    await services.store.publish(site, VisitorChanged(str(conv_id), visitor))
    return _ok({"recorded": [a.id for a in wanted]})


routes = [
    Route("/api/widget/articles", suggestions, methods=["GET"]),
    Route("/api/widget/articles/read", read, methods=["POST"]),
    Route("/api/widget/articles/{article_id}", article, methods=["GET"]),
    Route("/api/widget/articles/{article_id}/deflected", deflected, methods=["POST"]),
    Route("/api/widget/articles/{article_id}/deflected", preflight, methods=["OPTIONS"]),
]
