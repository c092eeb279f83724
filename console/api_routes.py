"""The workspace's JSON API: what the agent socket does not carry.

Every route serves the signed-in agent's own site only: keys are per site, so an id from
another site is simply not found there.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chatserver.agent_actions import site_departments, team_members
from chatserver.core.canned import PERSONAL_MAX, CannedProblem, by_usage, check, shortcut_key
from chatserver.files.canned import canned_items
from chatserver.frames import conversation_summary, stored_frame, visitor_summary
from chatserver.sessions import TWO_FACTOR_SETUP
from console.common import csrf_ok, current_account, services_of

_VISITOR_ID = re.compile(r"^v_[A-Za-z0-9_-]{1,40}$")
_CONV_ID = re.compile(r"^c_[A-Za-z0-9_-]{1,40}$")


def _error(status: int, code: str, message: str) -> Response:
    return JSONResponse({"error": code, "message": message}, status_code=status)


async def _agent(request: Request) -> dict[str, str] | None:
    return await current_account(request)


def _refused(request: Request) -> Response:
    """401 without a session; 403 ``two_factor_setup_required`` for one that must first set
    up two-factor sign-in (its site requires it of admins and supervisors)."""
    if request.state.refusal == TWO_FACTOR_SETUP:
        return _error(403, TWO_FACTOR_SETUP, "set up two-factor sign-in at /account first")
    return _error(401, "unauthorized", "sign in first")


async def canned(request: Request) -> Response:
    """The shared set and the agent's own, each entry with its ``scope`` and ``uses``, in the
    picker's order (core.canned.by_usage: most used first, personal before shared)."""
    account = await _agent(request)
    if account is None:
        return _refused(request)
    store, site = services_of(request).store, account["site"]
    shared = canned_items(
        await store.canned_responses(site),
        await store.canned_files(site),
        await store.canned_uses(site),
        "shared",
    )
    personal = canned_items(
        await store.personal_canned(account["id"]),
        {},
        await store.personal_canned_uses(account["id"]),
        "personal",
    )
    return JSONResponse({"items": by_usage([*personal, *shared])})


# A personal entry's JSON body is small: its text is at most 4000 characters.
_BODY_MAX = 64 * 1024


async def _posting_agent(request: Request) -> dict[str, str] | Response:
    """The signed-in account of a console POST/DELETE with the page's CSRF token (a bearer
    token, an API client, needs none: it does not ride along on a cross-site request)."""
    account = await _agent(request)
    if account is None:
        return _refused(request)
    bearer = request.headers.get("authorization", "").lower().startswith("bearer ")
    if not bearer and not csrf_ok(request, request.headers.get("x-csrf-token")):
        return _error(403, "forbidden", "the page's CSRF token is missing; reload the page")
    return account


async def _json_body(request: Request) -> dict[str, Any] | Response:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > _BODY_MAX:
            return _error(413, "too_large", "the request body is larger than 64 KiB")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        return _error(400, "invalid_json", "the body is a JSON object")
    return data


async def _posted_json(request: Request) -> tuple[dict[str, str], dict[str, Any]] | Response:
    """The posting agent (:func:`_posting_agent`) and the JSON object they sent."""
    account = await _posting_agent(request)
    if isinstance(account, Response):
        return account
    body = await _json_body(request)
    if isinstance(body, Response):
        return body
    return account, body


def _problem(problem: CannedProblem) -> Response:
    return JSONResponse(
        {"error": problem.code, "message": problem.message, "typed": problem.typed},
        status_code=400,
    )


async def my_canned(request: Request) -> Response:
    """The agent's own canned responses with their usage counts, and the limit."""
    account = await _agent(request)
    if account is None:
        return _refused(request)
    store = services_of(request).store
    items = canned_items(
        await store.personal_canned(account["id"]),
        {},
        await store.personal_canned_uses(account["id"]),
    )
    return JSONResponse({"items": items, "limit": PERSONAL_MAX})


async def my_canned_save(request: Request) -> Response:
    """Create or replace one of the agent's own: ``{"shortcut": …, "text": …}``."""
    posted = await _posted_json(request)
    if isinstance(posted, Response):
        return posted
    account, body = posted
    typed_shortcut, typed_text = body.get("shortcut"), body.get("text")
    if not isinstance(typed_shortcut, str) or not isinstance(typed_text, str):
        return _error(400, "invalid_json", "shortcut and text are strings")
    shortcut, text, problems = check(typed_shortcut, typed_text)
    if problems:
        return _problem(problems[0])
    store = services_of(request).store
    result = await store.save_personal_canned(account["id"], shortcut, text, PERSONAL_MAX)
    if result == "limit":
        return _error(
            409, "personal_canned_limit", f"you keep at most {PERSONAL_MAX} canned responses"
        )
    uses = (await store.personal_canned_uses(account["id"])).get(shortcut, 0)
    item = {"shortcut": shortcut, "text": text, "uses": uses}
    return JSONResponse({"item": item}, status_code=201 if result == "created" else 200)


async def my_canned_delete(request: Request) -> Response:
    account = await _posting_agent(request)
    if isinstance(account, Response):
        return account
    shortcut = shortcut_key(request.path_params["shortcut"])
    store = services_of(request).store
    if shortcut is None or not await store.delete_personal_canned(account["id"], shortcut):
        return _error(404, "not_found", "you have no such canned response")
    return Response(status_code=204)


async def canned_use(request: Request) -> Response:
    """Count one insertion: ``{"shortcut": …, "scope": "shared" | "personal"}``."""
    posted = await _posted_json(request)
    if isinstance(posted, Response):
        return posted
    account, body = posted
    scope, typed = body.get("scope"), body.get("shortcut")
    if scope not in ("shared", "personal") or not isinstance(typed, str):
        return _error(400, "invalid_json", "scope is 'shared' or 'personal', shortcut a string")
    shortcut = shortcut_key(typed)
    store = services_of(request).store
    count = (
        await store.count_canned_use(account["site"], account["id"], scope == "personal", shortcut)
        if shortcut
        else None
    )
    if count is None:
        return _error(404, "not_found", "no such canned response")
    return JSONResponse({"uses": count})


async def team(request: Request) -> Response:
    """The site's agents (status, load, capacity) and departments: transfer targets."""
    account = await _agent(request)
    if account is None:
        return _refused(request)
    store, site = services_of(request).store, account["site"]
    agents = await team_members(store, site)
    agents.sort(key=lambda a: (not a["available"], str(a["name"]).lower()))
    departments = site_departments(await store.get_site(site), await store.departments(site))
    return JSONResponse({"agents": agents, "departments": departments})


async def visitor_conversations(request: Request) -> Response:
    """The visitor's conversations on this site, newest first (for the history panel)."""
    account = await _agent(request)
    if account is None:
        return _refused(request)
    visitor_id = request.path_params["visitor_id"]
    if not _VISITOR_ID.match(visitor_id):
        return _error(404, "not_found", "no such visitor")
    store = services_of(request).store
    convs = await store.visitor_conversations(account["site"], visitor_id)
    items: list[dict[str, Any]] = []
    for conv in convs:
        summary = conversation_summary(conv)
        del summary["visitor"]
        summary["resolved_at"] = int(conv["resolved_at"]) if conv.get("resolved_at") else None
        items.append(summary)
    return JSONResponse({"items": items})


async def visitor_context(request: Request) -> Response:
    """The visitor as the details panel shows it: the record, online or gone, and the pages
    of this visit (the agent socket's ``visitor`` frame carries the same when it changes)."""
    account = await _agent(request)
    if account is None:
        return _refused(request)
    visitor_id = request.path_params["visitor_id"]
    services = services_of(request)
    visitor = (
        await services.store.load_visitor(account["site"], visitor_id)
        if _VISITOR_ID.match(visitor_id)
        else None
    )
    if visitor is None:
        return _error(404, "not_found", "no such visitor")
    (context,) = await services.store.visitor_context(
        account["site"], [visitor_id], services.hub.clock()
    )
    return JSONResponse({**visitor_summary(visitor_id, visitor), **context})


async def conversation_messages(request: Request) -> Response:
    """A conversation's messages, notes included: agents of the site only."""
    account = await _agent(request)
    if account is None:
        return _refused(request)
    conv_id = request.path_params["conv_id"]
    store = services_of(request).store
    conv = (
        await store.get_conversation(account["site"], conv_id) if _CONV_ID.match(conv_id) else None
    )
    if conv is None:
        return _error(404, "not_found", "no such conversation")
    messages = await store.conversation_messages(account["site"], conv_id)
    links, now = services_of(request).files.links, services_of(request).hub.clock()
    return JSONResponse(
        {
            "conversation": conversation_summary(conv),
            "messages": [stored_frame(conv_id, m, links, account["site"], now) for m in messages],
        }
    )


routes = [
    Route("/api/console/canned", canned, methods=["GET"]),
    Route("/api/console/canned/mine", my_canned, methods=["GET"]),
    Route("/api/console/canned/mine", my_canned_save, methods=["POST"]),
    Route("/api/console/canned/mine/{shortcut}", my_canned_delete, methods=["DELETE"]),
    Route("/api/console/canned/uses", canned_use, methods=["POST"]),
    Route("/api/console/team", team, methods=["GET"]),
    Route(
        "/api/console/visitors/{visitor_id}/conversations",
        visitor_conversations,
        methods=["GET"],
    ),
    Route("/api/console/visitors/{visitor_id}", visitor_context, methods=["GET"]),
    Route("/api/console/conversations/{conv_id}/messages", conversation_messages, methods=["GET"]),
]
