"""What the admin pages' routes share: the page context, redirects after a change, the site
a URL names, and the one-time display of a new key or signing secret."""

from __future__ import annotations

from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from console.admin_forms import Problem, when_utc
from console.common import CHANGE_ROLES, forbidden, render, services_of, templates
from console.i18n import Message, msg, t

templates.env.filters["when"] = when_utc


@pass_context
def problem_text(ctx: Context, error: object) -> str:
    """An admin form's message in the page's language (``{{ problem(e) }}``): a Problem
    (console.admin_forms) with its values translated too, a Message, or a plain string as
    it is (a store's or a library's message)."""
    if isinstance(error, Problem):
        if getattr(ctx.get("i18n"), "locale", "en") == "en":
            return str(error)  # its English text, exactly as built
        values = {
            k: problem_text(ctx, v) if isinstance(v, Problem) else v
            for k, v in error.values.items()
        }
        return str(t(ctx, msg(error.key, **values)))
    if isinstance(error, Message):
        return str(t(ctx, error))
    return str(error)


@pass_context
def t_markup(ctx: Context, key: str, **values: Any) -> Markup:
    """``t()`` for a sentence with markup in it (a link, a ``<code>``): the catalogue's text
    is escaped, and each placeholder given Markup (``{% set link %}<a …>…</a>{% endset %}``)
    is written as that markup; other values are filled in as ``t()`` does, escaped."""
    marks = {k: f"\x00{i}\x00" for i, k in enumerate(values) if isinstance(values[k], Markup)}
    plain = {k: v for k, v in values.items() if k not in marks}
    text = str(escape(t(ctx, key, **plain, **marks)))
    for k, mark in marks.items():
        text = text.replace(mark, str(values[k]))
    return Markup(text)


templates.env.globals["problem"] = problem_text
templates.env.globals["t_markup"] = t_markup

# A new API key or signing secret is shown once, on the page the admin is sent to after
# creating it (so a reload neither shows it again nor creates a second one). The store keeps
# only a digest of a key, so the value travels to that page in this cookie: HttpOnly,
# SameSite=Strict, sent only to the site's admin pages, for a minute at most, deleted by the
# page that shows it; that page shows it only if it matches what is stored, so a value
# planted by another page (a sibling sub-domain) is never shown as this server's.
REVEAL_COOKIE = "cs_reveal"
REVEAL_SECONDS = 60


def form_fields(form: FormData) -> dict[str, str]:
    return {k: v for k, v in form.items() if isinstance(v, str)}


def page_context(request: Request, me: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {
        "me": me,
        "can_change": me.get("role") in CHANGE_ROLES,
        "saved": request.query_params.get("saved"),
        "errors": [],
        **extra,
    }


def back(url: str, note: str = "1", anchor: str = "") -> Response:
    """After a change: the page again, with a note of what was done (``?saved=``)."""
    return RedirectResponse(f"{url}?saved={note}{anchor}", status_code=303)


def now_ms(request: Request) -> int:
    return services_of(request).hub.clock()


def not_found(request: Request, me: dict[str, str], reason: str) -> Response:
    return render(request, "forbidden.html", {"me": me, "reason": reason}, 404)


async def site_or_404(
    request: Request, me: dict[str, str]
) -> tuple[str, dict[str, str]] | Response:
    site_id = request.path_params["site"]
    settings = await services_of(request).store.get_site(site_id)
    if settings is None:
        return not_found(request, me, "admin.no_such_site")
    return site_id, settings


def manages_site(me: dict[str, str], site_id: str) -> bool:
    """Whether ``me`` keeps the site's shared content (canned responses, labels, help
    articles): admins of every site, supervisors of their own."""
    role = me.get("role")
    return role in CHANGE_ROLES or (role == "supervisor" and me.get("site") == site_id)


async def managed_site(request: Request, me: dict[str, str]) -> str | Response:
    """The site of a page or change of its shared content, or the refusal (404 no such
    site, 403 not theirs: :func:`manages_site`)."""
    found = await site_or_404(request, me)
    if isinstance(found, Response):
        return found
    if not manages_site(me, found[0]):
        return forbidden(request, me)
    return found[0]


def reveal(request: Request, site_id: str, url: str, value: str) -> Response:
    """Redirect to ``url``, the one page that shows ``value`` (see REVEAL_COOKIE)."""
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        REVEAL_COOKIE,
        value,
        max_age=REVEAL_SECONDS,
        path=f"/admin/sites/{site_id}",
        httponly=True,
        samesite="strict",
        secure=services_of(request).settings.secure_cookies,
    )
    return response


def revealed(request: Request, me: dict[str, str]) -> str:
    """The value to show once ('' for none; only admins create, so only they are shown)."""
    return request.cookies.get(REVEAL_COOKIE, "") if me.get("role") in CHANGE_ROLES else ""


def forget_reveal(request: Request, response: Response, site_id: str) -> Response:
    """Delete the cookie on the page that showed (or refused) its value: once only."""
    if REVEAL_COOKIE in request.cookies:
        response.delete_cookie(
            REVEAL_COOKIE,
            path=f"/admin/sites/{site_id}",
            httponly=True,
            samesite="strict",
            secure=services_of(request).settings.secure_cookies,
        )
    return response
