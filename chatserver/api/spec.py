"""The REST API's endpoints as data: each one's method, path, scope, parameters and schemas.

The OpenAPI 3.1 document (``GET /api/v1/openapi.json``), the reference page and the request
validation all come from :data:`ENDPOINTS` (chatserver.api.routes fills in the handlers), so
the documentation cannot drift from what the server accepts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from chatserver import __version__
from chatserver.api_keys import SCOPES
from chatserver.core.audit import ACTIONS as AUDIT_ACTIONS
from chatserver.core.labels import PALETTE
from chatserver.core.states import Status
from chatserver.core.visits import PAGES_KEPT, VISIT_GAP_MS
from chatserver.feed import FeedEvent

Schema = dict[str, Any]

ID = {"type": "string", "maxLength": 64}
MS = {"type": "integer", "description": "milliseconds since the Unix epoch"}


def obj(props: dict[str, Schema], required: tuple[str, ...] = (), **extra: Any) -> Schema:
    return {
        "type": "object",
        "properties": props,
        "required": list(required),
        "additionalProperties": False,
        **extra,
    }


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


AUTHOR = obj({"id": ID, "name": {"type": "string"}}, ("id", "name"))
PAGE = obj(
    {"url": {"type": "string"}, "title": {"type": "string"}, "referrer": {"type": "string"}},
    ("url", "title", "referrer"),
)
VISITOR = obj(
    {
        "id": ID,
        "name": {"type": "string"},
        "email": {"type": "string"},
        "verified": {
            "type": "boolean",
            "description": "name and email were signed by the site's backend (identity "
            "verification); false: as the visitor declared them",
        },
        "user_id": {"type": "string", "description": "the verified user id ('' for none)"},
        "locale": {"type": "string"},
        "user_agent": {"type": "string"},
        "timezone": {"type": "string"},
        "page": PAGE,
        "first_seen": nullable(MS),
        "visits": {
            "type": "integer",
            "minimum": 0,
            "description": "how many visits this is (a new one after "
            f"{VISIT_GAP_MS // 60000} minutes without activity and no socket open)",
        },
        "visit_started": {**nullable(MS), "description": "when the current visit started"},
    },
    (
        "id",
        "name",
        "email",
        "verified",
        "user_id",
        "locale",
        "user_agent",
        "timezone",
        "page",
        "first_seen",
        "visits",
        "visit_started",
    ),
)
VISIT_PAGE = obj(
    {"url": {"type": "string"}, "title": {"type": "string"}, "ts": MS}, ("url", "title", "ts")
)
# The visitor endpoints' visitor: the record and what changes live beside it.
VISITOR_DETAIL = {
    **VISITOR,
    "properties": {
        **VISITOR["properties"],
        "online": {"type": "boolean", "description": "a socket of theirs is open now"},
        "left_at": {
            **nullable(MS),
            "description": "when their last socket closed (null while online)",
        },
        "pages": {
            "type": "array",
            "items": VISIT_PAGE,
            "maxItems": PAGES_KEPT,
            "description": f"the pages of the current visit, newest first (the last "
            f"{PAGES_KEPT}; a reload of the newest is not listed again)",
        },
    },
    "required": [*VISITOR["required"], "online", "left_at", "pages"],
}
LABEL = obj(
    {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "color": {"type": "string", "enum": list(PALETTE)},
    },
    ("id", "name", "color"),
)
CONVERSATION = obj(
    {
        "id": ID,
        "status": {"type": "string", "enum": [s.value for s in Status]},
        "department": {"type": "string"},
        "agent": nullable(AUTHOR),
        "created_at": nullable(MS),
        "queued_at": nullable(MS),
        "assigned_at": nullable(MS),
        "unanswered_since": nullable(MS),
        "snoozed_until": {**nullable(MS), "description": "snoozed by its agent until then"},
        "awaiting_email_reply": {
            **nullable(MS),
            "description": "the visitor left an e-mail and waits for a reply by mail since "
            "then (until an agent writes)",
        },
        "resolved_at": nullable(MS),
        "last_id": {"type": "string", "description": "the id of its last message"},
        "preview": {"type": "string"},
        "participants": {
            "type": "array",
            "items": AUTHOR,
            "description": "supervisors who joined it beside its agent",
        },
        "labels": {"type": "array", "items": LABEL, "description": "its labels, by name"},
        "visitor": VISITOR,
    },
    (
        "id",
        "status",
        "department",
        "agent",
        "created_at",
        "queued_at",
        "assigned_at",
        "unanswered_since",
        "snoozed_until",
        "resolved_at",
        "last_id",
        "preview",
        "participants",
        "labels",
        "visitor",
    ),
)
FILE = obj(
    {
        "id": {"type": "string"},
        "name": {"type": "string", "description": "its name, corrected to agree with its type"},
        "type": {"type": "string", "description": "the media type sniffed from its bytes"},
        "size": {"type": "integer", "description": "bytes"},
        "width": {"type": "integer"},
        "height": {"type": "integer"},
        "url": {"type": "string", "description": "signed download URL (relative)"},
        "thumb": {"type": "string", "description": "signed URL of an image's thumbnail"},
        "expires": {**MS, "description": "when the URLs stop working (ms)"},
    },
    ("id", "name", "type", "size", "url", "expires"),
    description="an attached file (docs/protocol.md, Files)",
)
MESSAGE = obj(
    {
        "type": {"const": "message"},
        "conversation_id": ID,
        "id": {"type": "string", "description": "its stream id: the cursor to read after"},
        "from": {
            "type": "string",
            "enum": ["visitor", "agent", "bot", "note", "whisper", "system"],
        },
        "author": AUTHOR,
        "text": {"type": "string"},
        "ts": MS,
        "client_id": {"type": "string"},
        "event": {"type": "string", "description": "what a system message records"},
        "file": FILE,
    },
    ("type", "conversation_id", "id", "from", "author", "text", "ts"),
)
RECEIPT = obj(
    {
        "id": {"type": "string"},
        "ts": MS,
        "conversation_id": ID,
        "client_id": {"type": "string"},
        "duplicate": {"type": "boolean", "description": "this client_id was stored before"},
    },
    ("id", "ts", "conversation_id", "client_id", "duplicate"),
)
AGENT = obj(
    {
        "id": ID,
        "name": {"type": "string"},
        "status": {"type": "string", "enum": ["online", "away", "offline"]},
        "load": {"type": "integer"},
        "capacity": {"type": "integer"},
        "departments": {"type": "array", "items": {"type": "string"}},
        "available": {"type": "boolean", "description": "can take one more chat now"},
    },
    ("id", "name", "status", "load", "capacity", "departments", "available"),
)
ERROR = obj(
    {
        "error": obj(
            {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "field": {"type": "string"},
            },
            ("code", "message"),
        )
    },
    ("error",),
)
WEBHOOK = obj(
    {
        "id": ID,
        "url": {"type": "string"},
        "events": {"type": "array", "items": {"type": "string"}},
        "description": {"type": "string"},
        "created_at": MS,
        "cursor": {"type": "string", "description": "the last feed event done"},
        "delivered": {"type": "integer"},
        "failures": {"type": "integer", "description": "failed tries, all events"},
        "dead_letters": {"type": "integer"},
        "failing_since": nullable(MS),
        "last_status": nullable({"type": "integer"}),
        "last_error": {"type": "string"},
        "last_delivery_at": nullable(MS),
        "secret": {"type": "string", "description": "only in the answer that creates it"},
    },
    (
        "id",
        "url",
        "events",
        "description",
        "created_at",
        "cursor",
        "delivered",
        "failures",
        "dead_letters",
        "failing_since",
        "last_status",
        "last_error",
        "last_delivery_at",
    ),
)
AUDIT_ENTRY = obj(
    {
        "id": {"type": "string"},
        "ts": MS,
        "actor": AUTHOR,
        "action": {
            "type": "string",
            "description": "one of: " + ", ".join(f"`{a}`" for a in AUDIT_ACTIONS),
        },
        "conversation_id": ID,
        "detail": {
            "type": "string",
            "description": "for people, not parsed; take_over: `holder -> target` (or "
            "`-> queue department`); join: the agent holding it; whisper: the message id; "
            "sign-ins and admin changes: what changed and the address it came from",
        },
    },
    ("id", "ts", "actor", "action", "conversation_id", "detail"),
)
FEED_EVENT = obj(
    {
        "id": {"type": "string", "description": "the event id: the idempotency key"},
        "type": {"type": "string", "enum": [e.value for e in FeedEvent]},
        "version": {"const": 1},
        "site": {"type": "string"},
        "created_at": MS,
        "conversation_id": nullable({"type": "string"}),
        "data": {"type": "object"},
    },
    ("id", "type", "version", "site", "created_at", "conversation_id", "data"),
)
OK = obj({"ok": {"const": True}, "message_id": {"type": "string"}}, ("ok",))

# Stable error codes, with the HTTP status each comes with.
ERRORS: dict[str, tuple[int, str]] = {
    "invalid_request": (400, "the request is malformed; `field` names the culprit"),
    "unauthorized": (401, "no API key, or one that is unknown or revoked"),
    "forbidden": (403, "the key's scope does not allow this, or the agent does not hold it"),
    "not_found": (404, "no such conversation, visitor or agent on this key's site"),
    "conversation_closed": (409, "the conversation has ended"),
    "conflict": (409, "the conversation changed meanwhile (assigned, reopened)"),
    "capacity": (409, "that agent has no free capacity"),
    "agent_unavailable": (409, "that agent is not online now"),
    "rate_limited": (429, "over the key's requests a minute; `Retry-After` says when"),
    "unavailable": (503, "Redis cannot be reached now; retry"),
}

Handler = Callable[..., Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    where: str  # path | query
    schema: Schema
    description: str = ""
    required: bool = False


@dataclass(slots=True)
class Endpoint:
    method: str
    path: str  # under /api/v1, with {name} path parameters
    scope: str
    summary: str
    response: Schema
    params: tuple[Param, ...] = ()
    body: Schema | None = None
    errors: tuple[str, ...] = ()
    description: str = ""
    status: int = 200
    handler: Handler | None = field(default=None, repr=False)

    @property
    def operation_id(self) -> str:
        return self.handler.__name__ if self.handler else self.summary


def page_of(item: Schema) -> Schema:
    return obj(
        {
            "items": {"type": "array", "items": item},
            "next_cursor": nullable({"type": "string"}),
        },
        ("items", "next_cursor"),
    )


def openapi(endpoints: list[Endpoint]) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``endpoints``."""
    paths: dict[str, dict[str, Any]] = {}
    for ep in endpoints:
        responses: dict[str, Any] = {
            str(ep.status): {
                "description": "success",
                "content": {"application/json": {"schema": ep.response}},
            }
        }
        # Any endpoint that needs more than read refuses a key of a smaller scope.
        always: tuple[str, ...] = ("unauthorized", "rate_limited", "unavailable")
        if ep.scope != "read":
            always += ("forbidden",)
        for code in dict.fromkeys((*always, *ep.errors)):
            status, why = ERRORS[code]
            entry = responses.setdefault(
                str(status),
                {"description": "", "content": {"application/json": {"schema": ERROR}}},
            )
            entry["description"] = "; ".join(
                d for d in (entry["description"], f"`{code}`: {why}") if d
            )
        op: dict[str, Any] = {
            "operationId": ep.operation_id,
            "summary": ep.summary,
            "description": ep.description or ep.summary,
            "security": [{"apiKey": [ep.scope]}],
            "x-scope": ep.scope,
            "parameters": [
                {
                    "name": p.name,
                    "in": p.where,
                    "required": p.required or p.where == "path",
                    "description": p.description,
                    "schema": p.schema,
                }
                for p in ep.params
            ],
            "responses": responses,
        }
        if ep.body is not None:
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": ep.body}},
            }
        paths.setdefault(f"/api/v1{ep.path}", {})[ep.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "chatserver REST API",
            "version": f"1 (server {__version__})",
            "description": (
                "Every request carries an API key: `Authorization: Bearer csk_…`. A key "
                "belongs to one site and has a scope: "
                + ", ".join(f"`{s}`" for s in SCOPES)
                + " (each allows what the ones before it do). Every error has the shape "
                '`{"error": {"code", "message", "field"?}}` with a stable code.'
            ),
        },
        "servers": [{"url": "/"}],
        "components": {
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Conversation": CONVERSATION,
                "Message": MESSAGE,
                "Visitor": VISITOR,
                "VisitorDetail": VISITOR_DETAIL,
                "Agent": AGENT,
                "Error": ERROR,
                "Webhook": WEBHOOK,
                "Event": FEED_EVENT,
            },
        },
        "paths": paths,
        "webhooks": {
            event.value: {
                "post": {
                    "summary": f"`{event.value}`",
                    "description": (
                        "Signed with `Chatserver-Signature` (see docs/webhooks.md); "
                        "`Chatserver-Event-Id` is the idempotency key."
                    ),
                    "requestBody": {
                        "content": {"application/json": {"schema": FEED_EVENT}},
                    },
                    "responses": {"200": {"description": "any 2xx: delivered"}},
                }
            }
            for event in FeedEvent
        },
    }
