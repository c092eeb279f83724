"""The REST API v1's endpoints of the admin scope: a person's data (export, erasure), the
event feed and its webhooks, the audit log, the site's notice (declared as in endpoints.py)."""

from __future__ import annotations

from chatserver.api import spec
from chatserver.api.export_schema import EXPORT
from chatserver.api.handlers import audit_log
from chatserver.api.notice_handlers import delete_notice, get_notice, put_notice
from chatserver.api.privacy_handlers import erase, export
from chatserver.api.spec import Endpoint, Param, obj
from chatserver.api.webhook_handlers import (
    create_webhook,
    dead_letters,
    delete_webhook,
    get_webhook,
    list_events,
    list_webhooks,
    replay_webhook,
)
from chatserver.core.notices import MAX_DAYS, MAX_TEXT
from chatserver.feed import FeedEvent

PERSON_PARAMS = (
    Param("visitor_id", "query", {"type": "string", "maxLength": 254}, "a visitor id"),
    Param("email", "query", {"type": "string", "maxLength": 254}, "an e-mail address"),
    Param("user_id", "query", {"type": "string", "maxLength": 254}, "a verified user id"),
)
HOOK = Param("webhook_id", "path", {"type": "string", "pattern": "^wh_[A-Za-z0-9_-]{1,40}$"})

NOTICE = obj(
    {
        "id": {"type": "string"},
        "text": obj({"en": {"type": "string"}, "fa": {"type": "string"}}),
        "expires_at": spec.MS,
        "posted_at": spec.MS,
        "by": {"type": "string", "description": "who posted it (an agent's or key's name)"},
    },
    ("id", "text", "expires_at", "posted_at", "by"),
)
NOTICE_OF = obj({"notice": spec.nullable(NOTICE)}, ("notice",))

ADMIN_ENDPOINTS: list[Endpoint] = [
    Endpoint(
        "GET",
        "/privacy/export",
        "admin",
        "Everything kept about one person, as one JSON document",
        EXPORT,
        params=PERSON_PARAMS,
        errors=("invalid_request",),
        description=(
            "The person is found by any of visitor_id, email (every visitor record holding it "
            "now) and user_id (a verified identity); give at least one. Nobody found gives "
            "an empty `visitors` list. Recorded in the audit log (`export`). See "
            "docs/privacy.md."
        ),
        handler=export,
    ),
    Endpoint(
        "POST",
        "/privacy/erase",
        "admin",
        "Erase one person's data for good",
        obj(
            {
                "visitors": {"type": "integer"},
                "conversations": {"type": "integer"},
                "entries": {"type": "integer"},
            },
            ("visitors", "conversations", "entries"),
        ),
        body=obj(
            {
                "visitor_id": {"type": "string", "maxLength": 254},
                "email": {"type": "string", "maxLength": 254},
                "user_id": {"type": "string", "maxLength": 254},
            }
        ),
        errors=("invalid_request", "conflict"),
        description=(
            "Open conversations of theirs are resolved first; every message of their "
            "conversations keeps its id, kind and time and loses its text and their name "
            "(`event: erased`); their visitor records go. Counts of what was erased are "
            "returned; recorded in the audit log (`erase`). See docs/privacy.md."
        ),
        handler=erase,
    ),
    Endpoint(
        "GET",
        "/events",
        "read",
        "The site's event feed after a cursor, oldest first (while it has webhooks)",
        spec.page_of(spec.FEED_EVENT),
        params=(
            Param("after", "query", {"type": "string"}, "an event id; omit for the oldest"),
            Param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 1000}),
        ),
        errors=("invalid_request",),
        description=(
            "The feed the webhooks deliver: kept 48 hours, written only while the site has "
            "at least one webhook endpoint. The same event ids as the webhooks'."
        ),
        handler=list_events,
    ),
    Endpoint(
        "GET",
        "/webhooks",
        "admin",
        "The site's webhook endpoints, with their delivery state",
        spec.page_of(spec.WEBHOOK),
        handler=list_webhooks,
    ),
    Endpoint(
        "POST",
        "/webhooks",
        "admin",
        "Add a webhook endpoint (its secret is in this answer only)",
        spec.WEBHOOK,
        body=obj(
            {
                "url": {"type": "string", "maxLength": 2000},
                "events": {
                    "type": "array",
                    "items": {"type": "string", "enum": [e.value for e in FeedEvent]},
                    "description": "the types to deliver; empty or absent: all",
                },
                "description": {"type": "string", "maxLength": 200},
            },
            ("url",),
        ),
        errors=("invalid_request",),
        status=201,
        description=(
            "It gets every event from now on, each signed with its secret, at least once "
            "and in order, retried with backoff for a day, then kept as a dead letter."
        ),
        handler=create_webhook,
    ),
    Endpoint(
        "GET",
        "/webhooks/{webhook_id}",
        "admin",
        "A webhook endpoint and its delivery state",
        spec.WEBHOOK,
        params=(HOOK,),
        errors=("not_found",),
        handler=get_webhook,
    ),
    Endpoint(
        "DELETE",
        "/webhooks/{webhook_id}",
        "admin",
        "Remove a webhook endpoint",
        spec.OK,
        params=(HOOK,),
        errors=("not_found",),
        handler=delete_webhook,
    ),
    Endpoint(
        "POST",
        "/webhooks/{webhook_id}/replay",
        "admin",
        "Deliver again from an event id or a time (dead letters included)",
        spec.OK,
        params=(HOOK,),
        body=obj(
            {
                "after_id": {"type": "string", "description": "deliver the events after it"},
                "since": {**spec.MS, "description": "deliver the events from this time on"},
            }
        ),
        errors=("not_found", "invalid_request"),
        handler=replay_webhook,
    ),
    Endpoint(
        "GET",
        "/webhooks/{webhook_id}/dead_letters",
        "admin",
        "The events given up on, oldest first (the last 100)",
        obj(
            {
                "items": {"type": "array", "items": {"type": "object"}},
                "next_cursor": {"type": "null"},
            },
            ("items", "next_cursor"),
        ),
        params=(HOOK,),
        errors=("not_found",),
        handler=dead_letters,
    ),
    Endpoint(
        "GET",
        "/audit",
        "admin",
        "The site's audit log, newest first, filtered",
        spec.page_of(spec.AUDIT_ENTRY),
        params=(
            Param("before", "query", {"type": "string"}, "`next_cursor` of the page before"),
            Param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 1000}),
            Param(
                "action",
                "query",
                {"type": "string", "pattern": "^[a-z_]{1,40}$"},
                "only this action (see the entry's `action` for the names)",
            ),
            Param(
                "actor",
                "query",
                {"type": "string", "maxLength": 64},
                "only this actor: an agent id, or `key:<id>` for an API key",
            ),
            Param(
                "q",
                "query",
                {"type": "string", "maxLength": 200},
                "text in the detail, the actor's name or the conversation id (any case)",
            ),
            Param("since", "query", {"type": "integer"}, "entries at or after this time (ms)"),
            Param("until", "query", {"type": "integer"}, "entries at or before this time (ms)"),
        ),
        errors=("invalid_request",),
        description=(
            "Sign-ins and failed sign-ins, two-factor and session changes, password resets, "
            "admin changes, API key use (at most one entry a minute per key), supervisors' "
            "monitor, unmonitor, whisper, join, leave and take-over, exports and erasures: "
            "who, what, when (and in which conversation), the last 100,000 entries. A page "
            "reads at most 20,000 entries: with filters that match little, it can hold fewer "
            "than `limit` items and still have a `next_cursor` to look further back."
        ),
        handler=audit_log,
    ),
    Endpoint(
        "GET", "/notice", "admin", "The site's notice to visitors", NOTICE_OF, handler=get_notice
    ),
    Endpoint(
        "PUT",
        "/notice",
        "admin",
        "Post the site's notice to visitors (replacing the one shown)",
        NOTICE_OF,
        body=obj(
            {
                "text": obj(
                    {
                        "en": {"type": "string", "maxLength": MAX_TEXT},
                        "fa": {"type": "string", "maxLength": MAX_TEXT},
                    },
                    description="English, Persian or both (at least one with text)",
                ),
                "expires_at": {**spec.MS, "description": "when it stops being shown"},
                "expires_in": {
                    "type": "integer",
                    "minimum": 60,
                    "maximum": MAX_DAYS * 86400,
                    "description": "seconds from now (instead of expires_at)",
                },
            },
            ("text",),
        ),
        errors=("invalid_request",),
        description=(
            "Shown at the top of every open chat widget of the site at once (a `notice` "
            "frame, docs/protocol.md), and to every visitor who opens it, in the visitor's "
            f"language, else the other, until it expires: give `expires_at` or `expires_in`, "
            f"at least a minute and at most {MAX_DAYS} days ahead. Plain text, at most "
            f"{MAX_TEXT} characters per language (web addresses become links). One notice "
            "per site: this replaces the one shown. Recorded in the audit log "
            "(`notice_posted`)."
        ),
        handler=put_notice,
    ),
    Endpoint(
        "DELETE",
        "/notice",
        "admin",
        "Take the site's notice down",
        obj({"ended": {"type": "boolean"}}, ("ended",)),
        description=(
            "Every open widget hides it at once; `ended` is false when none was shown. "
            "Recorded in the audit log (`notice_ended`)."
        ),
        handler=delete_notice,
    ),
]
