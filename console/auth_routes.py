"""Sign in and out, the agent workspace page, and the JSON login for API clients."""

from __future__ import annotations

from math import ceil

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from chatserver.auth import new_token, off_loop, verify_password
from chatserver.core.policy import SitePolicy
from chatserver.events import SignedOut
from chatserver.services import Services
from chatserver.sessions import SESSION_COOKIE, authenticate, session_digest
from console.common import client_ip, csrf_ok, render, services_of


class Throttled(Exception):
    """Too many sign-in attempts for the account or from the address; retry after."""

    def __init__(self, retry_after: float) -> None:
        super().__init__("too many sign-in attempts")
        self.retry_after = retry_after


async def login_account(
    services: Services, email: str, password: str, ip: str
) -> dict[str, str] | None:
    """The account if the password is right. Every attempt counts against the account and
    the address before the password is checked; a success gives its attempt back.

    Raises :class:`Throttled` when either has had too many attempts lately.
    """
    wait, leases = await services.limits.login_attempt(email, ip)
    if wait:
        raise Throttled(wait)
    account = await _check_password(services, email, password)
    if account is not None:
        await services.limits.login_succeeded(leases)
    return account


async def _check_password(services: Services, email: str, password: str) -> dict[str, str] | None:
    store = services.store
    agent_id = await store.account_id_by_email(email.strip()) if email.strip() else None
    account = await store.get_account(agent_id) if agent_id else None
    ok = await off_loop(
        verify_password, account.get("password_hash") if account else None, password
    )
    if not ok or account is None or account.get("active", "1") != "1":
        return None
    return account


async def login_page(request: Request) -> Response:
    if await authenticate(services_of(request), request.cookies.get(SESSION_COOKIE)):
        return RedirectResponse("/agent", status_code=303)
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
            {"error": "Your session expired; try again.", "email": email},
            400,
        )
    try:
        account = await login_account(services, email, password, client_ip(request))
    except Throttled as exc:
        minutes = max(1, round(exc.retry_after / 60))
        response = render(
            request,
            "login.html",
            {"error": f"Too many attempts; try again in {minutes} min.", "email": email},
            429,
        )
        response.headers["Retry-After"] = str(ceil(exc.retry_after))
        return response
    if account is None:
        return render(
            request, "login.html", {"error": "Wrong email or password.", "email": email}, 401
        )
    token = new_token()
    await services.store.create_session(token, account["id"], services.settings.session_ttl)
    response = RedirectResponse("/agent", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=services.settings.session_ttl,
        httponly=True,
        samesite="lax",
        secure=services.settings.secure_cookies,
    )
    return response


async def sign_out(services: Services, token: str) -> None:
    """End the session and close its sockets on every node: the agent takes no new chat
    from now on (their last socket closing marks them offline; chats keep the grace)."""
    agent_id = await services.store.session_agent(token)
    await services.store.delete_session(token)
    if agent_id is None:
        return
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
    account = await authenticate(services, request.cookies.get(SESSION_COOKIE))
    if account is None:
        return RedirectResponse("/login", status_code=303)
    agent = {k: account.get(k, "") for k in ("id", "name", "email", "role", "site", "capacity")}
    site = await services.store.get_site(agent["site"]) or {}
    policy = SitePolicy.from_settings(site)
    return render(
        request,
        "agent.html",
        {
            "agent": agent,
            "site_name": site.get("name", agent["site"]),
            "sla_next_response_s": policy.sla_next_response_s,
            "sla_first_response_s": policy.sla_first_response_s,
        },
    )


async def api_login(request: Request) -> Response:
    """JSON login for scripts and the load generator: returns a bearer token."""
    services = services_of(request)
    try:
        body = await request.json()
    except ValueError:
        return JSONResponse({"error": "bad_request", "message": "send JSON"}, status_code=400)
    if not isinstance(body, dict):
        return JSONResponse({"error": "bad_request", "message": "send an object"}, status_code=400)
    try:
        account = await login_account(
            services,
            str(body.get("email", ""))[:254],
            str(body.get("password", ""))[:1024],
            client_ip(request),
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
        return JSONResponse(
            {"error": "unauthorized", "message": "wrong email or password"}, status_code=401
        )
    token = new_token()
    await services.store.create_session(token, account["id"], services.settings.session_ttl)
    return JSONResponse(
        {"token": token, "agent": {k: account.get(k, "") for k in ("id", "name", "role", "site")}}
    )


routes = [
    Route("/login", login_page, methods=["GET"]),
    Route("/login", login_submit, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/agent", agent_page, methods=["GET"]),
    Route("/api/login", api_login, methods=["POST"]),
]
