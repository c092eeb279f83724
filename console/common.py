"""What every console route shares: templates, the signed-in account, roles and CSRF.

CSRF protection is a double-submit token: an HttpOnly, SameSite=Strict cookie and the same
value in a hidden field of every form; a POST whose field does not match is refused.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from chatserver.services import Services
from chatserver.sessions import SESSION_COOKIE, TWO_FACTOR_SETUP, session_account
from console import i18n

CSRF_COOKIE = "cs_csrf"
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
i18n.install(templates.env)
# The words for the roles, for every page that names one: {{ t(role_keys[me.role]) }}.
ROLE_KEYS = {
    "agent": "common.role_agent",
    "supervisor": "common.role_supervisor",
    "admin": "common.role_admin",
}
templates.env.globals["role_keys"] = ROLE_KEYS
# The words for the conversation states: {{ t(status_keys[conv.status]) }}.
STATUS_KEYS = {
    "queued": "common.status_queued",
    "assigned": "common.status_assigned",
    "waiting_on_agent": "common.status_waiting_on_agent",
    "waiting_on_visitor": "common.status_waiting_on_visitor",
    "resolved": "common.status_resolved",
    "missed": "common.status_missed",
    "abandoned": "common.status_abandoned",
}
templates.env.globals["status_keys"] = STATUS_KEYS

# Who may change the admin pages (supervisors look: chatserver.sessions.VIEW_ROLES).
CHANGE_ROLES = frozenset({"admin"})


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def csrf_token(request: Request) -> str:
    return request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    """Render a template with a CSRF token in its context and in the cookie, in the reader's
    language: the signed-in account's (``me`` or ``agent``) choice, else the browser's, else
    the site's default (``site_locale``) (console/i18n.py)."""
    token = context.setdefault("csrf_token", csrf_token(request))
    account = context.get("me") or context.get("agent")
    context.setdefault(
        "i18n",
        i18n.page_locale(
            account if isinstance(account, dict) else None,
            request.headers.get("accept-language", ""),
            str(context.get("site_locale") or ""),
        ),
    )
    response = templates.TemplateResponse(request, name, context, status_code=status)
    response.set_cookie(
        CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=services_of(request).settings.secure_cookies,
    )
    return response


def client_ip(request: Request) -> str:
    """The client's address (a trusted proxy's X-Forwarded-For applied; see limits.py)."""
    return services_of(request).limits.client_ip(request.scope, request.headers)


def csrf_ok(request: Request, form_token: object) -> bool:
    cookie = request.cookies.get(CSRF_COOKIE, "")
    return bool(cookie) and isinstance(form_token, str) and hmac.compare_digest(cookie, form_token)


def request_token(request: Request) -> str | None:
    """The session token: the console's cookie, or a bearer token for API clients."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    return request.cookies.get(SESSION_COOKIE)


async def current_account(request: Request) -> dict[str, str] | None:
    """The signed-in account, or None (also while it must first set up two-factor sign-in:
    then ``request.state.refusal`` says so, for a clear error)."""
    account, refusal = await session_account(services_of(request), request_token(request))
    request.state.refusal = refusal
    return None if refusal else account


Handler = Callable[[Request, dict[str, str]], Awaitable[Response]]


def forbidden(request: Request, account: dict[str, str]) -> Response:
    return render(request, "forbidden.html", {"me": account}, 403)


def page(roles: frozenset[str]) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """Guard an HTML route: no session goes to /login, a role outside ``roles`` gets 403,
    and a POST without the form's CSRF token gets 403. The handler receives the account."""

    def wrap(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def route(request: Request) -> Response:
            account = await current_account(request)
            if account is None:
                # An account that must set up two-factor sign-in first does it on /account.
                setup = request.state.refusal == TWO_FACTOR_SETUP
                return RedirectResponse("/account" if setup else "/login", status_code=303)
            if account.get("role", "agent") not in roles:
                return forbidden(request, account)
            if request.method == "POST":
                form = await request.form()
                if not csrf_ok(request, form.get("csrf_token")):
                    return render(
                        request,
                        "forbidden.html",
                        {"me": account, "reason": i18n.msg("common.form_expired")},
                        403,
                    )
            return await handler(request, account)

        route.__name__ = handler.__name__
        route.__doc__ = handler.__doc__
        return route

    return wrap
