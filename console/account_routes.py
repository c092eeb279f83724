"""The signed-in agent's own account page, ``/account``: two-factor sign-in (set up with a
first code, recovery codes shown once, turned off with a current code) and their sessions
(listed, each revocable, or all but this one).

It is the one page an admin or supervisor who must first set up two-factor sign-in (their
site requires it) can use: everything else sends them here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from chatserver.core.policy import REQUIRE_TWO_FACTOR, two_factor_required
from chatserver.sessions import (
    SESSION_COOKIE,
    TWO_FACTOR_SETUP,
    close_session_sockets,
    session_account,
    session_digest,
)
from chatserver.two_factor import begin_setup, check_code, confirm_setup, setup_of
from console.common import client_ip, csrf_ok, render, request_token, services_of
from console.i18n import CALENDARS, LOCALES, msg

Handler = Callable[[Request, dict[str, str], str], Awaitable[Response]]


def own_account(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Guard: any signed-in agent (even one who must set up two-factor first); a POST needs
    the form's CSRF token. The handler gets the account and the session's refusal."""

    async def route(request: Request) -> Response:
        account, refusal = await session_account(services_of(request), request_token(request))
        if account is None:
            return RedirectResponse("/login", status_code=303)
        if request.method == "POST":
            form = await request.form()
            if not csrf_ok(request, form.get("csrf_token")):
                reason = msg("common.form_expired")
                return render(request, "forbidden.html", {"me": account, "reason": reason}, 403)
        return await handler(request, account, refusal)

    route.__name__ = handler.__name__
    return route


def _now(request: Request) -> int:
    return services_of(request).hub.clock()


def _this_session(request: Request) -> str:
    token = request_token(request)
    return session_digest(token) if token else ""


async def _page(
    request: Request, me: dict[str, str], refusal: str, status: int = 200, **extra: Any
) -> Response:
    store = services_of(request).store
    state = await store.two_factor(me["id"])
    required = two_factor_required(
        {REQUIRE_TWO_FACTOR: await store.site_setting(me["site"], REQUIRE_TWO_FACTOR)},
        me.get("role", ""),
    )
    ctx: dict[str, Any] = {
        "me": me,
        "must_set_up": refusal == TWO_FACTOR_SETUP,
        "required": required,
        "two_factor": state,
        "sessions": await store.list_sessions(me["id"]),
        "this_session": _this_session(request),
        "site_locale": await store.site_setting(me["site"], "locale") or "",
        "saved": request.query_params.get("saved"),
        "error": None,
        "setup": None,
        "recovery_codes": None,
        **extra,
    }
    return render(request, "account.html", ctx, status)


@own_account
async def account_page(request: Request, me: dict[str, str], refusal: str) -> Response:
    return await _page(request, me, refusal)


@own_account
async def two_factor_setup(request: Request, me: dict[str, str], refusal: str) -> Response:
    setup = await begin_setup(services_of(request).store, me)
    if setup is None:
        return await _page(request, me, refusal, 400, error=msg("auth.error_already_on"))
    return await _page(request, me, refusal, setup=setup)


@own_account
async def two_factor_confirm(request: Request, me: dict[str, str], refusal: str) -> Response:
    store = services_of(request).store
    form = await request.form()
    code = str(form.get("code", ""))[:64]
    codes = await confirm_setup(store, me["id"], code, _now(request))
    if codes is None:
        state = await store.two_factor(me["id"])
        setup = setup_of(state.pending, me.get("email", me["id"])) if state.pending else None
        error = msg("auth.error_code_now")
        if setup is None:
            error = msg("auth.error_start_again")
        return await _page(request, me, refusal, 400, error=error, setup=setup)
    await store.audit(
        me["site"],
        "two_factor_enabled",
        me["id"],
        me.get("name", ""),
        _now(request),
        f"from {client_ip(request)}",
    )
    # Shown in this response only: a reload posts the spent code again and is refused.
    return await _page(request, me, "", recovery_codes=codes)


@own_account
async def two_factor_disable(request: Request, me: dict[str, str], refusal: str) -> Response:
    store = services_of(request).store
    required = two_factor_required(
        {REQUIRE_TWO_FACTOR: await store.site_setting(me["site"], REQUIRE_TWO_FACTOR)},
        me.get("role", ""),
    )
    if required:
        error = msg("auth.error_required")
        return await _page(request, me, refusal, 400, error=error)
    form = await request.form()
    check = await check_code(
        store, me["id"], str(form.get("code", ""))[:64], _now(request), disable=True
    )
    if not check.ok:
        return await _page(request, me, refusal, 400, error=msg("auth.error_code"))
    await store.audit(
        me["site"],
        "two_factor_disabled",
        me["id"],
        me.get("name", ""),
        _now(request),
        f"with a {'recovery code' if check.outcome == 'recovery' else 'code'}, "
        f"from {client_ip(request)}",
    )
    return RedirectResponse("/account?saved=off", status_code=303)


@own_account
async def session_revoke(request: Request, me: dict[str, str], refusal: str) -> Response:
    services = services_of(request)
    digest = request.path_params["session"]
    if not await services.store.end_session(me["id"], digest):
        return await _page(request, me, refusal, 404, error=msg("auth.error_session_ended"))
    await close_session_sockets(services, me, [digest])
    await services.store.audit(
        me["site"],
        "session_revoked",
        me["id"],
        me.get("name", ""),
        _now(request),
        f"1 session, from {client_ip(request)}",
    )
    if digest == _this_session(request):
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(
            SESSION_COOKIE, httponly=True, samesite="lax", secure=services.settings.secure_cookies
        )
        return response
    return RedirectResponse("/account?saved=revoked#sessions", status_code=303)


@own_account
async def sessions_revoke_others(request: Request, me: dict[str, str], refusal: str) -> Response:
    services = services_of(request)
    ended = await services.store.end_sessions(me["id"], keep=_this_session(request))
    await close_session_sockets(services, me, ended)
    if ended:
        await services.store.audit(
            me["site"],
            "session_revoked",
            me["id"],
            me.get("name", ""),
            _now(request),
            f"{len(ended)} other sessions (sign out everywhere else), from {client_ip(request)}",
        )
    return RedirectResponse("/account?saved=others#sessions", status_code=303)


@own_account
async def language_save(request: Request, me: dict[str, str], refusal: str) -> Response:
    """The agent's language and calendar ('' each: the browser's language and its calendar)."""
    form = await request.form()
    lang, calendar = str(form.get("lang", "")), str(form.get("calendar", ""))
    if lang not in ("", *LOCALES) or calendar not in ("", *CALENDARS):
        return await _page(request, me, refusal, 400, error=msg("auth.error_language"))
    await services_of(request).store.set_account_preferences(me["id"], lang, calendar)
    return RedirectResponse("/account?saved=language#language", status_code=303)


routes = [
    Route("/account", account_page, methods=["GET"]),
    Route("/account/language", language_save, methods=["POST"]),
    Route("/account/two-factor/setup", two_factor_setup, methods=["POST"]),
    Route("/account/two-factor/confirm", two_factor_confirm, methods=["POST"]),
    Route("/account/two-factor/disable", two_factor_disable, methods=["POST"]),
    Route("/account/sessions/others/revoke", sessions_revoke_others, methods=["POST"]),
    Route("/account/sessions/{session:str}/revoke", session_revoke, methods=["POST"]),
]
