"""Visitors' replies by e-mail come back into their conversation: ``POST /api/mail/inbound``,
the endpoint a mail provider's inbound webhook calls (docs/protocol.md, "Replies by e-mail").

The provider sends ``from``, ``to``, ``subject``, ``text`` and ``message_id`` as JSON or as a
form (urlencoded or multipart), with the shared token ``CHATSERVER_MAIL_INBOUND_TOKEN`` as a
bearer token or ``?token=``. The mail must go to a conversation's signed reply address
(core/mail_reply.py) and come from the e-mail on its visitor's record. The quoted history
is cut off and what is left is stored as the visitor's message, through the same script as a
message from the widget, with a client id made from the Message-ID: a provider that delivers
the same mail twice stores it once. A conversation that ended is reopened as the widget would.
"""

from __future__ import annotations

import hashlib
import hmac
from email.utils import parseaddr
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chatserver.core.mail_reply import parse_reply_address, strip_quoted
from chatserver.log import get_logger
from chatserver.messages import Outgoing
from chatserver.services import Services
from chatserver.store import StoreError

log = get_logger(__name__)

MAX_BODY = 256 * 1024
FIELDS = ("from", "to", "subject", "text", "message_id")


def _answer(status: int, body: dict[str, Any]) -> Response:
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


def _error(status: int, code: str, message: str) -> Response:
    return _answer(status, {"error": {"code": code, "message": message}})


async def _fields(request: Request) -> dict[str, str] | None:
    if int(request.headers.get("content-length") or 0) > MAX_BODY:
        return None
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json":
        raw = await request.body()
        if len(raw) > MAX_BODY:
            return None
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(data, dict):
            return None
        return {k: data[k] for k in FIELDS if isinstance(data.get(k), str)}
    if kind in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.form()
        return {k: v for k in FIELDS if isinstance(v := form.get(k), str)}
    return None


async def inbound_mail(request: Request) -> Response:
    services: Services = request.app.state.services
    settings, store = services.settings, services.store
    if not (settings.mail_inbound_domain and settings.mail_inbound_token):
        return _error(404, "not_configured", "inbound mail is not set up on this server")
    auth = request.headers.get("authorization", "")
    given = (
        auth[7:] if auth.lower().startswith("bearer ") else request.query_params.get("token", "")
    )
    if not hmac.compare_digest(given.encode(), settings.mail_inbound_token.encode()):
        return _error(401, "unauthorized", "wrong or missing inbound token")
    fields = await _fields(request)
    if fields is None or not fields.get("from") or not fields.get("to"):
        return _error(400, "bad_request", "send from, to and text as JSON or a form")
    found = parse_reply_address(
        [settings.secret_key, *settings.old_secret_keys],
        [fields["to"]],
        settings.mail_inbound_domain,
    )
    if found is None:
        return _error(404, "unknown_recipient", "not a reply address of this server")
    site, conv_id = found
    conv = await store.get_conversation(site, conv_id)
    if conv is None:
        return _error(404, "unknown_recipient", "that conversation no longer exists")
    visitor_id = conv.get("visitor", "")
    visitor = await store.load_visitor(site, visitor_id) or {}
    sender = parseaddr(fields["from"])[1].lower()
    if not sender or sender != visitor.get("email", "").lower():
        return _error(403, "sender_mismatch", "only the visitor's own address can reply")
    text = strip_quoted(fields.get("text", ""))
    if not text:
        return _answer(200, {"stored": False, "reason": "empty"})
    limit = settings.max_message_length
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    identity = fields.get("message_id") or f"{sender}\n{fields.get('subject', '')}\n{text}"
    client_id = "mail-" + hashlib.sha256(identity.encode()).hexdigest()[:24]
    policy = await services.hub.lifecycle.policy(site)
    name = visitor.get("name", "")
    for _ in range(2):
        msg = Outgoing(
            site, conv_id, "visitor", visitor_id, name, client_id, text, services.hub.clock()
        )
        try:
            res = await store.send_message(msg, policy)
        except StoreError as exc:
            if exc.code != "closed":
                raise
            # Ended: reopened (or a new chat, past the reopen window), as the widget does.
            _, conv_id = await store.open_conversation(
                site,
                visitor_id,
                msg.now,
                conv.get("department", ""),
                visitor_name=name,
                policy=policy,
            )
            continue
        log.info("mail_reply_stored", site=site, conv=conv_id, duplicate=res.duplicate)
        return _answer(
            200,
            {"stored": True, "duplicate": res.duplicate, "conversation_id": conv_id, "id": res.id},
        )
    return _error(409, "conversation_closed", "the conversation could not be reopened")


routes = [Route("/api/mail/inbound", inbound_mail, methods=["POST"])]
