"""The public help page of a site: ``/help/<site>`` lists its published articles by category
in the reader's language (``?lang=en|fa``, else the browser's Accept-Language, else the
site's default), with a search (``?q=``); ``/help/<site>/<id or slug>`` shows one article.

Nobody signs in here: only published articles are ever read, drafts answer 404 like an
unknown article. The pages carry the console's strict headers (chatserver/security_headers.py:
no script or style from elsewhere, nothing inline); the article's HTML comes from
chatserver/core/articles.render_markdown, which lets no writer's HTML through.
"""

from __future__ import annotations

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from chatserver.config import valid_site_name
from chatserver.core.articles import Article, by_category, find, render_markdown, search
from console import i18n
from console.common import render, services_of

MAX_QUERY = 200  # characters of a search read; the rest is ignored


def _locale(request: Request, site_default: str, forced: str = "") -> i18n.PageLocale:
    wanted = forced or request.query_params.get("lang", "")
    saved = {"lang": wanted} if wanted in i18n.LOCALES else None
    return i18n.page_locale(saved, request.headers.get("accept-language", ""), site_default)


async def _published(request: Request, site: str) -> list[Article]:
    return [a for a in await services_of(request).store.articles(site) if a.published]


def _missing(request: Request, locale: i18n.PageLocale) -> Response:
    return render(request, "help_missing.html", {"i18n": locale}, 404)


async def _settings(request: Request, site: str) -> dict[str, str] | None:
    return await services_of(request).store.get_site(site) if valid_site_name(site) else None


async def help_index(request: Request) -> Response:
    site = request.path_params["site"]
    settings = await _settings(request, site)
    locale = _locale(request, (settings or {}).get("locale", ""))
    if settings is None:
        return _missing(request, locale)
    query = request.query_params.get("q", "")[:MAX_QUERY].strip()
    mine = [a for a in await _published(request, site) if a.lang == locale.locale]
    ctx = {
        "i18n": locale,
        "site_id": site,
        "site_name": settings.get("name") or site,
        "query": query,
        "groups": by_category(mine),
        "results": search(mine, query) if query else [],
    }
    return render(request, "help.html", ctx)


async def help_article(request: Request) -> Response:
    site = request.path_params["site"]
    settings = await _settings(request, site)
    site_default = (settings or {}).get("locale", "")
    if settings is None:
        return _missing(request, _locale(request, site_default))
    article = find(await _published(request, site), request.path_params["ref"])
    if article is None:
        return _missing(request, _locale(request, site_default))
    ctx = {
        "i18n": _locale(request, site_default, article.lang),
        "site_id": site,
        "site_name": settings.get("name") or site,
        "article": article,
        "html": Markup(render_markdown(article.body)),  # safe: see render_markdown
    }
    return render(request, "help_article.html", ctx)


routes = [
    Route("/help/{site}", help_index, methods=["GET"]),
    Route("/help/{site}/{ref}", help_article, methods=["GET"]),
]
