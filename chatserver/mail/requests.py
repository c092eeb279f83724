"""A visitor asks for a conversation's transcript by e-mail: ``POST /api/widget/transcript``
(docs/protocol.md, "Transcript by e-mail"), which the widget's lazily loaded
widget/transcript.js calls with the visitor's token.

The transcript goes to the e-mail on the visitor's record; a visitor without one may give it
in the request, and it is stored as if they had told the widget (self-declared: refused on a
site that takes only a verified identity). At most TRANSCRIPTS_PER_HOUR per visitor and
TRANSCRIPTS_PER_IP_HOUR per client address (the exempt networks skip the second), so the
server cannot be made to mail anyone at a high rate.
"""

from __future__ import annotations

import math
import secrets
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chatserver import identity
from chatserver.auth import verify_visitor_token
from chatserver.config import valid_site_name
from chatserver.mail.alerts import MailSteps
from chatserver.protocol import valid_email
from chatserver.services import Services

TRANSCRIPTS_PER_HOUR = 3
TRANSCRIPTS_PER_IP_HOUR = 10
HOUR_MS = 3_600_000
MAX_BODY = 4096


def _error(status: int, code: str, message: str, retry_after: float = 0) -> Response:
    headers = {"Cache-Control": "no-store"}
    body: dict[str, Any] = {"code": code, "message": message}
    if retry_after:
        headers["Retry-After"] = str(math.ceil(retry_after))
        body["retry_after"] = retry_after
    return JSONResponse({"error": body}, status_code=status, headers=headers)


async def transcript_request(request: Request) -> Response:
    services: Services = request.app.state.services
    steps: MailSteps = request.app.state.mail_steps
    raw = await request.body()
    try:
        body = orjson.loads(raw) if len(raw) <= MAX_BODY else None
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict):
        return _error(400, "bad_request", "send a JSON object of at most 4 KB")
    site, token, conv_id = body.get("site"), body.get("token"), body.get("conversation_id")
    email = body.get("email") or ""
    if not all(isinstance(v, str) and v for v in (site, token, conv_id)) or not isinstance(
        email, str
    ):
        return _error(400, "bad_request", "site, token and conversation_id are required")
    assert isinstance(site, str) and isinstance(token, str) and isinstance(conv_id, str)
    settings, store = services.settings, services.store
    now = services.hub.clock()
    cfg = await services.hub.site_config(site) if valid_site_name(site) else None
    visitor_id = verify_visitor_token(
        settings.secret_key, token, site, now // 1000, settings.old_secret_keys
    )
    if cfg is None or visitor_id is None:
        return _error(401, "unauthorized", "the visitor token is not valid for this site")
    conv = await store.get_conversation(site, conv_id)
    if conv is None or conv.get("visitor") != visitor_id:
        # Whether another visitor's conversation exists is nobody's business.
        return _error(404, "not_found", "no such conversation of yours")
    visitor = await store.load_visitor(site, visitor_id) or {}
    if not visitor.get("email"):
        email = email.strip()
        if not email or not valid_email(email) or identity.text_problem(email):
            return _error(400, "email_required", "give the e-mail address to send it to")
        if identity.required(cfg) or visitor.get("user_id"):
            return _error(403, "identity_required", "this site takes only a verified e-mail")
    ip = services.limits.client_ip(request.scope, request.headers)
    limits = [(store.k.sender_limit(site, "transcript", visitor_id), TRANSCRIPTS_PER_HOUR)]
    if not services.limits.exempt(ip):
        limits.append((store.k.ip_limit("transcript", ip), TRANSCRIPTS_PER_IP_HOUR))
    for key, limit in limits:  # different hash slots: one lease each
        wait, _ = await store.take_lease([(key, limit, now + HOUR_MS)], secrets.token_hex(8), now)
        if wait:
            return _error(429, "rate_limited", "too many transcripts; retry later", wait / 1000)
    if not visitor.get("email"):
        await store.update_visitor(site, visitor_id, {"email": email}, now)
        visitor["email"] = email
    queued = await steps.transcript(site, conv_id, conv, visitor, cfg, now, once="")
    if not queued:
        return _error(503, "unavailable", "the transcript could not be queued; retry later")
    steps.wake()
    return JSONResponse(
        {"queued": True, "conversation_id": conv_id, "to": visitor["email"]},
        headers={"Cache-Control": "no-store"},
    )


routes = [Route("/api/widget/transcript", transcript_request, methods=["POST"])]
