"""Console HTTP routes: login, logout, the agent page, and the JSON login for API clients."""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from chatserver.agent_ws import SESSION_COOKIE, authenticate
from chatserver.auth import new_token, verify_password
from chatserver.services import Services

CSRF_COOKIE = "cs_csrf"
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def _csrf(request: Request) -> str:
    return request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)


def _render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    token = context.setdefault("csrf_token", _csrf(request))
    response = templates.TemplateResponse(request, name, context, status_code=status)
    response.set_cookie(
        CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=_services(request).settings.production,
    )
    return response


def _csrf_ok(request: Request, form_token: object) -> bool:
    cookie = request.cookies.get(CSRF_COOKIE, "")
    return bool(cookie) and isinstance(form_token, str) and hmac.compare_digest(cookie, form_token)


async def login_account(services: Services, email: str, password: str) -> dict[str, str] | None:
    store = services.store
    agent_id = await store.account_id_by_email(email.strip()) if email.strip() else None
    account = await store.get_account(agent_id) if agent_id else None
    ok = verify_password(account.get("password_hash") if account else None, password)
    if not ok or account is None or account.get("active", "1") != "1":
        return None
    return account


async def login_page(request: Request) -> Response:
    if await authenticate(_services(request), request.cookies.get(SESSION_COOKIE)):
        return RedirectResponse("/agent", status_code=303)
    return _render(request, "login.html", {"error": None, "email": ""})


async def login_submit(request: Request) -> Response:
    services = _services(request)
    form = await request.form()
    email = str(form.get("email", ""))[:254]
    password = str(form.get("password", ""))[:1024]
    if not _csrf_ok(request, form.get("csrf_token")):
        return _render(
            request,
            "login.html",
            {"error": "Your session expired; try again.", "email": email},
            400,
        )
    account = await login_account(services, email, password)
    if account is None:
        return _render(
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
        secure=services.settings.production,
    )
    return response


async def logout(request: Request) -> Response:
    form = await request.form()
    token = request.cookies.get(SESSION_COOKIE)
    response = RedirectResponse("/login", status_code=303)
    if not _csrf_ok(request, form.get("csrf_token")):
        return response
    if token:
        await _services(request).store.delete_session(token)
    response.delete_cookie(SESSION_COOKIE)
    return response


async def agent_page(request: Request) -> Response:
    account = await authenticate(_services(request), request.cookies.get(SESSION_COOKIE))
    if account is None:
        return RedirectResponse("/login", status_code=303)
    agent = {k: account.get(k, "") for k in ("id", "name", "email", "role", "site", "capacity")}
    return _render(request, "agent.html", {"agent": agent})


async def api_login(request: Request) -> Response:
    """JSON login for scripts and the load generator: returns a bearer token."""
    services = _services(request)
    try:
        body = await request.json()
    except ValueError:
        return JSONResponse({"error": "bad_request", "message": "send JSON"}, status_code=400)
    if not isinstance(body, dict):
        return JSONResponse({"error": "bad_request", "message": "send an object"}, status_code=400)
    account = await login_account(
        services, str(body.get("email", ""))[:254], str(body.get("password", ""))[:1024]
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
