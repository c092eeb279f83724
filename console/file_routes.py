"""The agent's side of attachments (the visitor's and the downloads: chatserver/files/routes).

- ``POST /api/console/conversations/<id>/files?name=N``: upload a file into a conversation
  the agent holds or has joined; the body is the file's bytes, ``X-CSRF-Token`` the page's
  CSRF token (the console's session cookie authenticates it).
- ``GET /api/console/files/<file id>``: fresh download URLs of any file of the agent's site.
- ``POST /api/console/conversations/<id>/canned/<shortcut>/file``: a fresh upload of the agent
  for that conversation holding a copy of the canned response's file (no body; the same
  session and CSRF token), which the message with the canned text then names.
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chatserver.core.canned import shortcut_key
from chatserver.files import canned
from chatserver.files.routes import claimed_name, error, read_body, refusal
from chatserver.files.service import Refused
from chatserver.frames import participants
from chatserver.services import Services
from console.common import csrf_ok, current_account, services_of

_CONV_ID = re.compile(r"^c_[A-Za-z0-9_-]{1,40}$")
_FILE_ID = re.compile(r"^f_[A-Za-z0-9_-]{1,40}$")


async def _agents_conversation(request: Request) -> tuple[Services, str, str, str] | Response:
    """(services, site, conversation id, agent id) of a console request about a
    conversation the signed-in agent holds or has joined; else the refusal."""
    account = await current_account(request)
    if account is None:
        return error(401, "unauthorized", "sign in first")
    # A session cookie rides along on any request, so it needs the page's CSRF token too; a
    # bearer token (an API client) does not.
    bearer = request.headers.get("authorization", "").lower().startswith("bearer ")
    if not bearer and not csrf_ok(request, request.headers.get("x-csrf-token")):
        return error(403, "forbidden", "the page's CSRF token is missing; reload the page")
    services = services_of(request)
    site, conv_id = account["site"], request.path_params["conv_id"]
    conv = await services.store.get_conversation(site, conv_id) if _CONV_ID.match(conv_id) else None
    if conv is None:
        return error(404, "not_found", "no such conversation")
    agent_id = account["id"]
    if conv.get("agent") != agent_id and all(p["id"] != agent_id for p in participants(conv)):
        return error(403, "forbidden", "that conversation is not yours")
    return services, site, conv_id, agent_id


async def agent_upload(request: Request) -> Response:
    found = await _agents_conversation(request)
    if isinstance(found, Response):
        return found
    services, site, conv_id, agent_id = found
    try:
        data = await read_body(request, services.settings.file_max_bytes)
        meta = await services.files.upload(
            site, f"agent:{agent_id}", conv_id, claimed_name(request), data, limited=False
        )
    except Refused as exc:
        return refusal(exc)
    return JSONResponse({"file": meta}, status_code=201)


async def canned_file(request: Request) -> Response:
    """The agent's own upload for this conversation, a copy of a canned response's file."""
    found = await _agents_conversation(request)
    if isinstance(found, Response):
        return found
    services, site, conv_id, agent_id = found
    shortcut = shortcut_key(request.path_params["shortcut"])
    try:
        if shortcut is None:
            raise Refused(404, "canned_file_not_found", "that canned response has no file")
        meta = await canned.for_message(
            services.files, site, shortcut, f"agent:{agent_id}", conv_id
        )
    except Refused as exc:
        return refusal(exc)
    return JSONResponse({"file": meta}, status_code=201)


async def agent_link(request: Request) -> Response:
    account = await current_account(request)
    if account is None:
        return error(401, "unauthorized", "sign in first")
    services, site, file_id = services_of(request), account["site"], request.path_params["file_id"]
    record = await services.store.file_record(site, file_id) if _FILE_ID.match(file_id) else None
    if record is None or not record.get("msg"):
        return error(404, "file_not_found", "no such file")
    return JSONResponse({"file": services.files.describe(site, record["conv"], record["meta"])})


routes = [
    Route("/api/console/conversations/{conv_id}/files", agent_upload, methods=["POST"]),
    Route("/api/console/files/{file_id}", agent_link, methods=["GET"]),
    Route(
        "/api/console/conversations/{conv_id}/canned/{shortcut}/file",
        canned_file,
        methods=["POST"],
    ),
]
