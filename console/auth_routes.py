"""Sign in and out, the agent workspace page, and the JSON login for API clients."""

from __future__ import annotations

from math import ceil
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from chatserver.auth import new_token, off_loop, verify_password
from chatserver.core.policy import REQUIRE_TWO_FACTOR, SitePolicy, two_factor_required
from chatserver.events import SignedOut
from chatserver.limits import Lease
from chatserver.services import Services
from chatserver.sessions import (
    SESSION_COOKIE,
    TWO_FACTOR_SETUP,
    session_account,
    session_digest,
)
from chatserver.two_factor import MAX_CODE_TRIES, PENDING_TTL_S, check_code
from console.common import client_ip, csrf_ok, render, services_of
from console.i18n import msg


class Throttled(Exception):
    """Too many sign-in attempts for the account or from the address; retry after."""

    def __init__(self, retry_after: float) -> None:
        super().__init__("too many sign-in attempts")
        self.retry_after = retry_after


async def password_step(
    services: Services, email: str, password: str, ip: str
) -> tuple[dict[str, str] | None, list[Lease]]:
    """The account if the password is right, and the attempt's leases. Every attempt counts
    against the account and the address before the password is checked; the caller gives
    the leases back once the whole sign-in (the code too) succeeded. A wrong password is
    written to the audit log.

    Raises :class:`Throttled` when either has had too many attempts lately.
    """
    wait, leases = await services.limits.login_attempt(email, ip)
    if wait:
        raise Throttled(wait)
    store = services.store
    agent_id = await store.account_id_by_email(email.strip()) if email.strip() else None
    known = await store.get_account(agent_id) if agent_id else None
    ok = await off_loop(verify_password, known.get("password_hash") if known else None, password)
    if ok and known is not None and known.get("active", "1") == "1":
        return known, leases
    now = services.hub.clock()
    if known is None:
        await store.audit(
            None, "sign_in_failed", "", email.strip()[:254], now, f"no such account, from {ip}"
        )
    else:
        why = "wrong password" if not ok else "account deactivated"
        await store.audit(
            known["site"],
            "sign_in_failed",
            known["id"],
            known.get("name", ""),
            now,
            f"{why}, from {ip}",
        )
    return None, leases


async def _signed_in(
    services: Services, account: dict[str, str], request: Request, how: str
) -> str:
    """A new session for ``account`` (its token), written to the audit log."""
    token = new_token()
    ip = client_ip(request)
    now = services.hub.clock()
    user_agent = request.headers.get("user-agent", "")
    await services.store.start_session(
        token, account["id"], services.settings.session_ttl, now, ip, user_agent
    )
    await services.store.audit(
        account["site"], "sign_in", account["id"], account.get("name", ""), now, f"{how}, from {ip}"
    )
    return token


def _session_cookie(services: Services, response: Response, token: str) -> Response:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=services.settings.session_ttl,
        httponly=True,
        samesite="lax",
        secure=services.settings.secure_cookies,
    )
    return response


def _throttled_page(
    request: Request, template: str, exc: Throttled, ctx: dict[str, Any]
) -> Response:
    minutes = max(1, round(exc.retry_after / 60))
    response = render(
        request, template, {**ctx, "error": msg("auth.error_too_many", n=minutes)}, 429
    )
    response.headers["Retry-After"] = str(ceil(exc.retry_after))
    return response


async def login_page(request: Request) -> Response:
    account, refusal = await session_account(
        services_of(request), request.cookies.get(SESSION_COOKIE)
    )
    if account is not None:
        return RedirectResponse("/account" if refusal else "/agent", status_code=303)
    return render(request, "login.html", {"error": None, "email": ""})


async def login_submit(request: Request) -> Response:
    services = services_of(request)
    form = await request.form()
    email = str(form.get("email", ""))[:254]
    password = str(form.get("password", ""))[:1024]
    if not csrf_ok(request, form.get("csrf_token")):
        return render(
            request,
            "login.html",
            {"error": msg("auth.error_session_expired"), "email": email},
            400,
        )
    ip = client_ip(request)
    try:
        account, leases = await password_step(services, email, password, ip)
    except Throttled as exc:
        return _throttled_page(request, "login.html", exc, {"email": email})
    if account is None:
        return render(
            request, "login.html", {"error": msg("auth.error_wrong_password"), "email": email}, 401
        )
    if await services.store.two_factor_enabled(account["id"]):
        pending = new_token()
        record = {"agent": account["id"], "email": email, "ip": ip, "leases": _leases_json(leases)}
        await services.store.create_login_pending(pending, record, PENDING_TTL_S)
        return render(request, "login_code.html", {"pending": pending, "error": None})
    await services.limits.login_succeeded(leases)
    token = await _signed_in(services, account, request, "password")
    return _session_cookie(services, RedirectResponse("/agent", status_code=303), token)


def _leases_json(leases: list[Lease]) -> str:
    return orjson.dumps([[lease.key, lease.member] for lease in leases]).decode()


def _leases_of(raw: str) -> list[Lease]:
    try:
        pairs = orjson.loads(raw or "[]")
    except orjson.JSONDecodeError:
        return []
    return [Lease(str(k), str(m)) for k, m in pairs if isinstance(k, str)]


async def login_code_submit(request: Request) -> Response:
    """The second step: the code from the app (or a recovery code) for a sign-in whose
    password was right a moment ago (the pending token ties the two steps together)."""
    services = services_of(request)
    store = services.store
    form = await request.form()
    pending = str(form.get("pending", ""))[:200]
    code = str(form.get("code", ""))[:64]
    expired = {"error": msg("auth.error_sign_in_expired"), "email": ""}
    if not csrf_ok(request, form.get("csrf_token")) or not pending:
        return render(request, "login.html", expired, 400)
    record = await store.login_pending(pending)
    if record is None:
        return render(request, "login.html", expired, 400)
    ctx: dict[str, Any] = {"pending": pending}
    try:
        account, how, leases = await _code_step(services, record, pending, code, client_ip(request))
    except Throttled as exc:
        return _throttled_page(request, "login_code.html", exc, ctx)
    except _Restart:
        return render(request, "login.html", {**expired, "email": record.get("email", "")}, 401)
    if account is None:
        return render(
            request, "login_code.html", {**ctx, "error": msg("auth.error_code_used")}, 401
        )
    await services.limits.login_succeeded(leases)
    token = await _signed_in(services, account, request, how)
    return _session_cookie(services, RedirectResponse("/agent", status_code=303), token)


class _Restart(Exception):
    """The pending sign-in is spent (too many codes, used, or its account changed)."""


async def _code_step(
    services: Services, record: dict[str, str], pending: str, code: str, ip: str
) -> tuple[dict[str, str] | None, str, list[Lease]]:
    """(account, how it signed in, every lease to give back) for a good code; (None, "", [])
    for a bad one. Raises Throttled, or _Restart when the password
    must be typed again."""
    store = services.store
    wait, leases = await services.limits.login_attempt(record.get("email", ""), ip)
    if wait:
        raise Throttled(wait)
    if await store.login_pending_attempt(pending) > MAX_CODE_TRIES:
        await store.end_login_pending(pending)
        raise _Restart
    account = await store.get_account(record.get("agent", ""))
    if account is None or account.get("active", "1") != "1":
        await store.end_login_pending(pending)
        raise _Restart
    how = await _second_factor(services, account, code, ip, "")
    if how is None:
        return None, "", []
    if not await store.end_login_pending(pending):
        raise _Restart  # a parallel request with the same pending token won
    return account, how, [*_leases_of(record.get("leases", "")), *leases]


async def _second_factor(
    services: Services, account: dict[str, str], code: str, ip: str, via: str
) -> str | None:
    """Check the code (or a recovery code) of an account whose password was right: how it
    signed in, or None for a wrong, expired or replayed code. Either is in the audit log;
    ``via`` tells the page and the JSON login apart there."""
    store = services.store
    now = services.hub.clock()
    check = await check_code(store, account["id"], code, now)
    name = account.get("name", "")
    if not check.ok:
        why = "replayed code" if check.outcome == "replayed" else "wrong or expired code"
        await store.audit(
            account["site"], "sign_in_failed", account["id"], name, now, f"{why}{via}, from {ip}"
        )
        return None
    if check.outcome != "recovery":
        return f"password and code{via}"
    await store.audit(
        account["site"],
        "recovery_code_used",
        account["id"],
        name,
        now,
        f"{check.recovery_left} recovery codes left, from {ip}",
    )
    return f"password and recovery code{via}"


async def sign_out(services: Services, token: str) -> None:
    """End the session and close its sockets on every node: the agent takes no new chat
    from now on (their last socket closing marks them offline; chats keep the grace)."""
    agent_id = await services.store.session_agent(token)
    await services.store.delete_session(token)
    if agent_id is None:
        return
    await services.store.end_session(agent_id, session_digest(token))
    account = await services.store.get_account(agent_id)
    if account is not None:
        await services.store.publish(account["site"], SignedOut(agent_id, session_digest(token)))


async def logout(request: Request) -> Response:
    form = await request.form()
    token = request.cookies.get(SESSION_COOKIE)
    response = RedirectResponse("/login", status_code=303)
    if not csrf_ok(request, form.get("csrf_token")):
        return response
    if token:
        await sign_out(services_of(request), token)
    response.delete_cookie(
        SESSION_COOKIE,
        httponly=True,
        samesite="lax",
        secure=services_of(request).settings.secure_cookies,
    )
    return response


async def agent_page(request: Request) -> Response:
    services = services_of(request)
    account, refusal = await session_account(services, request.cookies.get(SESSION_COOKIE))
    if account is None:
        return RedirectResponse("/login", status_code=303)
    if refusal:
        return RedirectResponse("/account", status_code=303)
    fields = ("id", "name", "email", "role", "site", "capacity", "lang", "calendar")
    agent = {k: account.get(k, "") for k in fields}
    site = await services.store.get_site(agent["site"]) or {}
    policy = SitePolicy.from_settings(site)
    return render(
        request,
        "agent.html",
        {
            "agent": agent,
            "site_name": site.get("name", agent["site"]),
            "site_locale": site.get("locale", ""),
            "sla_next_response_s": policy.sla_next_response_s,
            "sla_first_response_s": policy.sla_first_response_s,
        },
    )


async def api_login(request: Request) -> Response:
    """JSON login for scripts and the load generator: returns a bearer token. An account with
    two-factor sign-in sends its code (or a recovery code) as ``code`` in the same request."""
    services = services_of(request)
    try:
        body = await request.json()
    except ValueError:
        return _json_error(400, "bad_request", "send JSON")
    if not isinstance(body, dict):
        return _json_error(400, "bad_request", "send an object")
    ip = client_ip(request)
    try:
        account, leases = await password_step(
            services, str(body.get("email", ""))[:254], str(body.get("password", ""))[:1024], ip
        )
    except Throttled as exc:
        return JSONResponse(
            {
                "error": "rate_limited",
                "message": "too many sign-in attempts",
                "retry_after": exc.retry_after,
            },
            status_code=429,
            headers={"Retry-After": str(ceil(exc.retry_after))},
        )
    if account is None:
        return _json_error(401, "unauthorized", "wrong email or password")
    store, how = services.store, "password (JSON login)"
    enabled = await store.two_factor_enabled(account["id"])
    setting = {REQUIRE_TWO_FACTOR: await store.site_setting(account["site"], REQUIRE_TWO_FACTOR)}
    if not enabled and two_factor_required(setting, account.get("role", "")):
        await services.limits.login_succeeded(leases)  # the password was right
        return _json_error(
            403, TWO_FACTOR_SETUP, "this site requires two-factor sign-in: set it up at /account"
        )
    if enabled:
        code = body.get("code")
        if not isinstance(code, str) or not code.strip():
            return _json_error(
                401, "two_factor_required", "send the code from the authenticator app as code"
            )
        second = await _second_factor(services, account, code[:64], ip, " (JSON login)")
        if second is None:
            return _json_error(401, "invalid_code", "that code is wrong, expired or used")
        how = second
    await services.limits.login_succeeded(leases)
    token = await _signed_in(services, account, request, how)
    return JSONResponse(
        {"token": token, "agent": {k: account.get(k, "") for k in ("id", "name", "role", "site")}}
    )


def _json_error(status: int, code: str, message: str) -> Response:
    return JSONResponse({"error": code, "message": message}, status_code=status)


routes = [
    Route("/login", login_page, methods=["GET"]),
    Route("/login", login_submit, methods=["POST"]),
    Route("/login/code", login_code_submit, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/agent", agent_page, methods=["GET"]),
    Route("/api/login", api_login, methods=["POST"]),
]
