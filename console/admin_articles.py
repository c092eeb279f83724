"""A site's help articles: the admin pages (Sites › site › Help articles) where admins and
the site's own supervisors write, publish and delete them. Readers see the published ones on
the public help page (console/help_pages.py).

Every change is checked here on the server (role, the supervisor's site, CSRF token by
``page``) and written to the site's audit log; what a field may hold is
chatserver/core/articles.py, the site's limit is checked where the article is written
(lua/article_save.lua).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chatserver.core.articles import (
    ARTICLE_ID,
    LANGUAGES,
    MAX_ARTICLES,
    MAX_BODY,
    MAX_CATEGORY,
    MAX_PATTERNS,
    MAX_TITLE,
    Article,
    ArticleError,
    clean_body,
    clean_category,
    clean_lang,
    clean_patterns,
    clean_title,
    search,
)
from chatserver.sessions import VIEW_ROLES
from chatserver.store import StoreError
from console.admin_audit import record
from console.admin_common import (
    back,
    form_fields,
    managed_site,
    not_found,
    now_ms,
    page_context,
)
from console.admin_forms import Problem
from console.api_routes import _refused
from console.common import current_account, page, render, services_of

_FORM_PROBLEMS = {
    "invalid_title": "help.err_title",
    "invalid_body": "help.err_body",
    "invalid_lang": "help.err_lang",
    "invalid_category": "help.err_category",
    "invalid_pattern": "help.err_pattern",
    "too_many_patterns": "help.err_too_many_patterns",
}
LANGUAGE_NAMES = {"en": "help.lang_en", "fa": "help.lang_fa"}
assert tuple(LANGUAGE_NAMES) == LANGUAGES


def _url(site_id: str) -> str:
    return f"/admin/sites/{site_id}/articles"


def _limits() -> dict[str, int]:
    return {
        "max_title": MAX_TITLE,
        "max_body": MAX_BODY,
        "max_category": MAX_CATEGORY,
        "max_patterns": MAX_PATTERNS,
        "max_articles": MAX_ARTICLES,
    }


@page(VIEW_ROLES)
async def articles_page(request: Request, me: dict[str, str]) -> Response:
    site = await managed_site(request, me)
    if isinstance(site, Response):
        return site
    articles = await services_of(request).store.articles(site)
    ctx = page_context(
        request, me, site_id=site, articles=articles, languages=LANGUAGE_NAMES, **_limits()
    )
    ctx["can_change"] = True  # whoever reaches the page may change it (admin_common.manages_site)
    return render(request, "admin_articles.html", ctx)


async def _form(
    request: Request,
    me: dict[str, str],
    site: str,
    article_id: str,
    form: dict[str, str],
    status: int = 200,
    errors: list[str] | None = None,
) -> Response:
    ctx = page_context(
        request,
        me,
        site_id=site,
        article_id=article_id,
        form=form,
        languages=LANGUAGE_NAMES,
        **_limits(),
    )
    ctx["can_change"] = True
    ctx["errors"] = errors or []
    return render(request, "admin_articles_edit.html", ctx, status)


def _as_form(article: Article) -> dict[str, str]:
    return {
        "title": article.title,
        "body": article.body,
        "lang": article.lang,
        "category": article.category,
        "published": "1" if article.published else "",
        "patterns": "\n".join(article.patterns),
    }


@page(VIEW_ROLES)
async def article_new(request: Request, me: dict[str, str]) -> Response:
    site = await managed_site(request, me)
    if isinstance(site, Response):
        return site
    settings = await services_of(request).store.get_site(site) or {}
    lang = "fa" if (settings.get("locale") or "").startswith("fa") else "en"
    return await _form(request, me, site, "", {"lang": lang})


@page(VIEW_ROLES)
async def article_edit(request: Request, me: dict[str, str]) -> Response:
    site = await managed_site(request, me)
    if isinstance(site, Response):
        return site
    article_id = request.path_params["article_id"]
    found = (
        await services_of(request).store.article(site, article_id)
        if ARTICLE_ID.match(article_id)
        else None
    )
    if found is None:
        return not_found(request, me, "help.no_such_article")
    return await _form(request, me, site, article_id, _as_form(found))


def _clean(form: dict[str, str], article_id: str, now: int) -> Article:
    return Article(
        id=article_id,
        title=clean_title(form.get("title", "")),
        body=clean_body(form.get("body", "")),
        lang=clean_lang(form.get("lang", "")),
        category=clean_category(form.get("category", "")),
        published=form.get("published") == "1",
        patterns=clean_patterns(form.get("patterns", "")),
        updated=now,
    )


async def _save(request: Request, me: dict[str, str], article_id: str) -> Response:
    site = await managed_site(request, me)
    if isinstance(site, Response):
        return site
    form = form_fields(await request.form())
    try:
        article = _clean(form, article_id, now_ms(request))
    except ArticleError as exc:
        extra: dict[str, Any] = {"n": MAX_PATTERNS} if exc.code == "too_many_patterns" else {}
        problem = Problem(_FORM_PROBLEMS[exc.code], **extra)
        return await _form(request, me, site, article_id, form, 400, [problem])
    try:
        saved_id = await services_of(request).store.save_article(site, article)
    except StoreError as exc:
        if exc.code == "not_found":
            return not_found(request, me, "help.no_such_article")
        problem = Problem("help.err_too_many", n=MAX_ARTICLES)
        return await _form(request, me, site, article_id, form, 409, [problem])
    state = "published" if article.published else "draft"
    await record(request, me, site, "article_saved", f"{saved_id} ({state}): {article.title}")
    return back(_url(site), "created" if not article_id else "1")


@page(VIEW_ROLES)
async def article_create(request: Request, me: dict[str, str]) -> Response:
    return await _save(request, me, "")


@page(VIEW_ROLES)
async def article_update(request: Request, me: dict[str, str]) -> Response:
    if not ARTICLE_ID.match(request.path_params["article_id"]):
        return not_found(request, me, "help.no_such_article")
    return await _save(request, me, request.path_params["article_id"])


@page(VIEW_ROLES)
async def article_delete(request: Request, me: dict[str, str]) -> Response:
    site = await managed_site(request, me)
    if isinstance(site, Response):
        return site
    article_id = request.path_params["article_id"]
    store = services_of(request).store
    found = await store.article(site, article_id) if ARTICLE_ID.match(article_id) else None
    if found is None or not await store.delete_article(site, article_id):
        return not_found(request, me, "help.no_such_article")
    await record(request, me, site, "article_deleted", f"{article_id}: {found.title}")
    return back(_url(site), "deleted")


async def console_articles(request: Request) -> Response:
    """The signed-in agent's site's published articles for the composer's Articles button:
    ``{"items": [{id, title, lang, category, slug, url}]}``, matching ``q`` (any of its words,
    as the widget suggests) or all of them, at most 50; ``url`` is the public help page."""
    account = await current_account(request)
    if account is None:
        return _refused(request)
    site = account["site"]
    published = [a for a in await services_of(request).store.articles(site) if a.published]
    query = request.query_params.get("q", "")[:200]
    found = search(published, query, every=False) if query.strip() else published[:50]
    base = services_of(request).settings.public_url or str(request.base_url).rstrip("/")
    items = [{**a.summary(), "url": f"{base}/help/{site}/{a.id}"} for a in found]
    return JSONResponse({"items": items})


routes = [
    Route("/admin/sites/{site}/articles", articles_page, methods=["GET"]),
    Route("/admin/sites/{site}/articles", article_create, methods=["POST"]),
    Route("/admin/sites/{site}/articles/new", article_new, methods=["GET"]),
    Route("/admin/sites/{site}/articles/{article_id}", article_edit, methods=["GET"]),
    Route("/admin/sites/{site}/articles/{article_id}", article_update, methods=["POST"]),
    Route("/admin/sites/{site}/articles/{article_id}/delete", article_delete, methods=["POST"]),
    Route("/api/console/articles", console_articles, methods=["GET"]),
]
