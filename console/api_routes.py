"""The workspace's JSON API: what the agent socket does not carry.

Every route serves the signed-in agent's own site only: keys are per site, so an id from
another site is simply not found there.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chatserver.agent_actions import site_departments, team_members
from chatserver.files.canned import canned_items
from chatserver.frames import conversation_summary, stored_frame
from chatserver.sessions import TWO_FACTOR_SETUP
from console.common import current_account, services_of

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
    account = await _agent(request)
    if account is None:
        return _refused(request)
    store = services_of(request).store
    items = await store.canned_responses(account["site"])
    files = await store.canned_files(account["site"])
    return JSONResponse({"items": canned_items(items, files)})


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
    Route("/api/console/team", team, methods=["GET"]),
    Route(
        "/api/console/visitors/{visitor_id}/conversations",
        visitor_conversations,
        methods=["GET"],
    ),
    Route("/api/console/conversations/{conv_id}/messages", conversation_messages, methods=["GET"]),
]
