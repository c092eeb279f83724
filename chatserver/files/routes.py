"""HTTP routes of attachments: the visitor's upload, fresh links, and every download.

- ``POST /api/widget/files?site=S&name=N``: a visitor's upload; the body is the file's bytes,
  ``Authorization: Bearer <visitor token>`` (the token the widget's welcome gave it).
- ``GET /api/widget/files/<file id>?site=S``: fresh download URLs of a file in one of the
  visitor's conversations (the agent's counterpart is console/file_routes.py).
- ``GET /files/<site>/<conversation>/<file id>?e=..&s=..[&t=1]``: the download (signed URL).

The agent's upload lives with the console's JSON API (console/file_routes.py): it is
authenticated by the agent's session.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chatserver.auth import verify_visitor_token
from chatserver.config import valid_site_name
from chatserver.files.service import THUMB_TYPE, Refused, too_large
from chatserver.services import Services

MAX_NAME = 255
DOWNLOAD_CSP = "sandbox; default-src 'none'"


def refusal(exc: Refused) -> Response:
    headers = {"Retry-After": str(int(exc.retry_after + 0.999))} if exc.retry_after else None
    return JSONResponse(exc.body(), status_code=exc.status, headers=headers)


def error(status: int, code: str, message: str) -> Response:
    return refusal(Refused(status, code, message))


async def read_body(request: Request, limit: int) -> bytes:
    """The request's body, refused (file_too_large) as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def claimed_name(request: Request) -> str:
    return request.query_params.get("name", "")[:MAX_NAME]


async def _visitor(request: Request) -> tuple[Services, str, str] | Response:
    """(services, site, visitor id) of a request with a genuine visitor token, else 401."""
    services: Services = request.app.state.services
    site = request.query_params.get("site") or services.settings.default_site
    auth = request.headers.get("authorization", "")
    token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
    settings = services.settings
    visitor_id = (
        verify_visitor_token(
            settings.secret_key,
            token,
            site,
            services.hub.clock() // 1000,
            settings.old_secret_keys,
        )
        if token and valid_site_name(site)
        else None
    )
    if visitor_id is None:
        return error(401, "unauthorized", "a visitor token for this site is needed")
    return services, site, visitor_id


async def visitor_upload(request: Request) -> Response:
    who = await _visitor(request)
    if isinstance(who, Response):
        return who
    services, site, visitor_id = who
    limits = services.limits
    limited = not limits.exempt(limits.client_ip(request.scope))
    try:
        data = await read_body(request, services.settings.file_max_bytes)
        meta = await services.files.upload(
            site, f"visitor:{visitor_id}", "", claimed_name(request), data, limited
        )
    except Refused as exc:
        return refusal(exc)
    return JSONResponse({"file": meta}, status_code=201)


async def visitor_link(request: Request) -> Response:
    who = await _visitor(request)
    if isinstance(who, Response):
        return who
    services, site, visitor_id = who
    record = await services.store.file_record(site, request.path_params["file_id"])
    conv_id = (record or {}).get("conv", "")
    conv = await services.store.get_conversation(site, conv_id) if conv_id else None
    if record is None or not record.get("msg") or (conv or {}).get("visitor") != visitor_id:
        return error(404, "file_not_found", "no such file in your conversations")
    return JSONResponse({"file": services.files.describe(site, conv_id, record["meta"])})


def content_disposition(name: str) -> str:
    """``attachment`` with an ASCII fallback name and the real one in RFC 5987 form (Persian
    and other non-ASCII names reach the saved file intact)."""
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in name
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


async def download(request: Request) -> Response:
    services: Services = request.app.state.services
    p, q = request.path_params, request.query_params
    site, conv_id, file_id = p["site"], p["conv_id"], p["file_id"]
    thumb = q.get("t") == "1"
    exp = q.get("e", "")
    now = services.hub.clock()
    problem = (
        services.files.links.verify(site, conv_id, file_id, thumb, int(exp), q.get("s", ""), now)
        if exp.isdigit() and len(exp) < 12
        else "file_link_invalid"
    )
    if problem:
        return error(403, problem, "this link is not valid; ask for a fresh one")
    record = await services.store.file_record(site, file_id)
    if record is None or record.get("conv") != conv_id or not record.get("msg"):
        return error(404, "file_not_found", "no such file")
    if thumb and not _meta(record).get("thumb"):
        return error(404, "file_not_found", "this file has no thumbnail")
    data = await services.files.content(site, file_id, thumb)
    if data is None:
        return error(404, "file_not_found", "the file is gone")
    name = record.get("name", "file")
    if thumb:
        name = name.rsplit(".", 1)[0] + ".webp"
    headers = {
        "Content-Disposition": content_disposition(name),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": DOWNLOAD_CSP,
        "Cross-Origin-Resource-Policy": "same-origin",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": f"private, max-age={max(0, min(3600, int(exp) - now // 1000))}",
    }
    media_type = THUMB_TYPE if thumb else record.get("type", "application/octet-stream")
    return Response(data, media_type=media_type, headers=headers)


def _meta(record: dict[str, str]) -> dict[str, Any]:
    meta: dict[str, Any] = orjson.loads(record.get("meta") or "{}")
    return meta


routes = [
    Route("/api/widget/files", visitor_upload, methods=["POST"]),
    Route("/api/widget/files/{file_id}", visitor_link, methods=["GET"]),
    Route("/files/{site}/{conv_id}/{file_id}", download, methods=["GET"]),
]
