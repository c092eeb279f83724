"""The REST API v1's endpoints, declared once (see chatserver.api.spec): conversations,
visitors, agents and the site's lists here; the admin scope's in admin_endpoints.py."""

from __future__ import annotations

from chatserver.api import spec
from chatserver.api.admin_endpoints import ADMIN_ENDPOINTS
from chatserver.api.handlers import (
    add_note,
    assign,
    get_agent,
    get_conversation,
    get_visitor,
    list_agents,
    list_canned,
    list_conversations,
    list_departments,
    list_labels,
    list_messages,
    reopen,
    resolve,
    send_message,
    set_labels,
    transfer,
    update_visitor,
    visitor_conversations,
)
from chatserver.api.spec import ID, Endpoint, Param, obj
from chatserver.core.labels import MAX_LABELS, PALETTE
from chatserver.core.states import Status

# --- the declarations -------------------------------------------------------------------
CONV = Param("conv_id", "path", {"type": "string", "pattern": "^c_[A-Za-z0-9_-]{1,40}$"})
VISITOR = Param("visitor_id", "path", {"type": "string", "pattern": "^v_[A-Za-z0-9_-]{1,40}$"})
AGENT_ID = Param("agent_id", "path", {"type": "string", "pattern": "^a_[A-Za-z0-9_-]{1,40}$"})
TEXT = {
    "type": "string",
    "minLength": 1,
    "description": "at most CHATSERVER_MAX_MESSAGE_LENGTH characters (4000 by default)",
}
CLIENT_ID = {
    "type": "string",
    "pattern": "^[A-Za-z0-9_.:-]{1,64}$",
    "description": "makes the send idempotent: the same client_id is stored once",
}
AS_AGENT = {"type": "string", "description": "the agent acting (must be of this key's site)"}
BOT = obj(
    {
        "name": {
            "type": "string",
            "minLength": 1,
            "maxLength": 60,
            "pattern": "^[^\\u0000-\\u001f\\u007f]*\\S[^\\u0000-\\u001f\\u007f]*$",
            "description": "shown to the visitor and the agents as the author",
        },
        "id": {
            "type": "string",
            "pattern": "^[A-Za-z0-9_.-]{1,40}$",
            "description": "the author id the messages carry (`bot` when left out)",
        },
    },
    ("name",),
    description="the bot that writes (instead of `agent_id`)",
)
STATUS_FILTER = {"type": "string", "enum": ["open", *[s.value for s in Status]]}
LIST = obj({"items": {"type": "array", "items": {"type": "string"}}}, ("items",))
CANNED = obj(
    {
        "items": {
            "type": "array",
            "items": obj(
                {
                    "shortcut": {"type": "string"},
                    "text": {"type": "string"},
                    # only for those with a file: what the agent's message will carry
                    "file": obj(
                        {
                            "name": {"type": "string"},
                            "type": {"type": "string"},
                            "size": {"type": "integer"},
                        },
                        ("name", "type", "size"),
                    ),
                },
                ("shortcut", "text"),
            ),
        }
    },
    ("items",),
)
LABEL_ID = {"type": "string", "pattern": "^l_[A-Za-z0-9_-]{1,40}$"}
LABELS = obj({"items": {"type": "array", "items": spec.LABEL}}, ("items",))
ACTING = ("not_found", "forbidden", "conversation_closed", "invalid_request")

ENDPOINTS: list[Endpoint] = [
    Endpoint(
        "GET",
        "/conversations",
        "read",
        "List conversations, newest first",
        spec.page_of(spec.CONVERSATION),
        params=(
            Param("status", "query", STATUS_FILTER, "`open` for any open state"),
            Param("department", "query", {"type": "string", "maxLength": 40}),
            Param("agent_id", "query", ID, "held (or last held) by this agent"),
            Param("visitor_id", "query", ID),
            Param(
                "q",
                "query",
                {"type": "string", "maxLength": 200},
                "words of the messages (notes included), the visitor's name or e-mail; all "
                "must match, the last one as a prefix; Persian and Arabic letters and digits "
                "match however they were typed",
            ),
            Param("label", "query", LABEL_ID, "has this label (an id of `GET /labels`)"),
            Param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 100}),
            Param("cursor", "query", {"type": "string"}, "`next_cursor` of the page before"),
        ),
        errors=("invalid_request",),
        description=(
            "Pages by creation time: pass `next_cursor` to get the next page; `null` means "
            "there is no more. A filter that matches little may return a short page with a "
            "cursor: keep going until `next_cursor` is null. With `q` the site's search index "
            "answers, as in the console: every conversation of the site, not a bounded scan."
        ),
        handler=list_conversations,
    ),
    Endpoint(
        "GET",
        "/conversations/{conv_id}",
        "read",
        "Get a conversation",
        spec.CONVERSATION,
        params=(CONV,),
        errors=("not_found",),
        handler=get_conversation,
    ),
    Endpoint(
        "GET",
        "/conversations/{conv_id}/messages",
        "read",
        "Messages after a cursor, oldest first (notes and system messages included)",
        spec.page_of(spec.MESSAGE),
        params=(
            CONV,
            Param("after", "query", {"type": "string"}, "a message id; omit for the start"),
            Param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 1000}),
        ),
        errors=("not_found", "invalid_request"),
        handler=list_messages,
    ),
    Endpoint(
        "POST",
        "/conversations/{conv_id}/messages",
        "write",
        "Send a message as the agent who holds the conversation, or as a named bot",
        spec.RECEIPT,
        params=(CONV,),
        body=obj(
            {"agent_id": AS_AGENT, "bot": BOT, "text": TEXT, "client_id": CLIENT_ID},
            ("text",),
            oneOf=[{"required": ["agent_id"]}, {"required": ["bot"]}],
        ),
        errors=ACTING,
        description=(
            "Give exactly one of `agent_id` and `bot`. An agent's message is the team "
            "answering: the agent must hold the conversation, and it stops the response "
            'clocks. A bot\'s message (`from: "bot"`, its name shown to the visitor) may '
            "come at any open state, queued included, and stops no clock: the visitor "
            "still waits for a person. Either is refused once the conversation has ended."
        ),
        status=201,
        handler=send_message,
    ),
    Endpoint(
        "POST",
        "/conversations/{conv_id}/notes",
        "write",
        "Add a private note (agents only ever see it) as the agent who holds it",
        spec.RECEIPT,
        params=(CONV,),
        body=obj(
            {"agent_id": AS_AGENT, "text": TEXT, "client_id": CLIENT_ID}, ("agent_id", "text")
        ),
        errors=ACTING,
        status=201,
        handler=add_note,
    ),
    Endpoint(
        "POST",
        "/conversations/{conv_id}/assign",
        "write",
        "Assign a queued conversation to an agent (online or away, capacity checked)",
        spec.OK,
        params=(CONV,),
        body=obj({"agent_id": AS_AGENT}, ("agent_id",)),
        errors=("not_found", "conflict", "capacity", "invalid_request"),
        handler=assign,
    ),
    Endpoint(
        "POST",
        "/conversations/{conv_id}/transfer",
        "write",
        "Transfer from the agent who holds it to another agent or to a department's queue",
        spec.OK,
        params=(CONV,),
        body=obj(
            {
                "agent_id": {**AS_AGENT, "description": "the agent who holds it"},
                "to_agent_id": ID,
                "department": {"type": "string", "maxLength": 40},
                "note": {"type": "string", "maxLength": 4000},
            },
            ("agent_id",),
        ),
        errors=(
            "not_found",
            "forbidden",
            "conversation_closed",
            "capacity",
            "agent_unavailable",
            "invalid_request",
        ),
        handler=transfer,
    ),
    Endpoint(
        "POST",
        "/conversations/{conv_id}/resolve",
        "write",
        "Resolve a conversation (as the agent who holds it, or as the API)",
        spec.OK,
        params=(CONV,),
        body=obj({"agent_id": AS_AGENT}),
        errors=ACTING,
        description=(
            "With `agent_id`, that agent must hold it; without, it is resolved `by` "
            "`system` in the name of the key."
        ),
        handler=resolve,
    ),
    Endpoint(
        "POST",
        "/conversations/{conv_id}/reopen",
        "write",
        "Reopen an ended conversation as an agent's own (capacity checked)",
        spec.OK,
        params=(CONV,),
        body=obj({"agent_id": AS_AGENT}, ("agent_id",)),
        errors=("not_found", "conflict", "capacity", "agent_unavailable", "invalid_request"),
        handler=reopen,
    ),
    Endpoint(
        "PUT",
        "/conversations/{conv_id}/labels",
        "write",
        "Set a conversation's labels",
        spec.CONVERSATION,
        params=(CONV,),
        body=obj(
            {
                "labels": {
                    "type": "array",
                    "items": LABEL_ID,
                    "maxItems": MAX_LABELS,
                    "description": "label ids of `GET /labels`; `[]` takes every label off",
                }
            },
            ("labels",),
        ),
        errors=("not_found", "conversation_closed", "invalid_request"),
        description=(
            "Replaces the conversation's labels with these (an open or resolved one; a "
            "missed or abandoned one is `conversation_closed`). An id the site does not have "
            "is `invalid_request` with `field: labels`, and nothing changes. Consoles "
            "following the conversation see the change at once. Returns the conversation."
        ),
        handler=set_labels,
    ),
    Endpoint(
        "GET",
        "/visitors/{visitor_id}",
        "read",
        "Get a visitor",
        spec.VISITOR_DETAIL,
        params=(VISITOR,),
        errors=("not_found",),
        handler=get_visitor,
    ),
    Endpoint(
        "PATCH",
        "/visitors/{visitor_id}",
        "write",
        "Update a visitor's name or e-mail (agents following their chat see it at once)",
        spec.VISITOR_DETAIL,
        params=(VISITOR,),
        body=obj(
            {
                "name": {"type": "string", "maxLength": 100},
                "email": {"type": "string", "maxLength": 254},
            }
        ),
        errors=("not_found", "invalid_request"),
        description=(
            "A name or e-mail with control characters, line breaks or bidirectional controls "
            "is refused (`invalid_request`, `field`), as on the visitor socket; so is an "
            "e-mail not shaped like an address. A verified visitor stays verified."
        ),
        handler=update_visitor,
    ),
    Endpoint(
        "GET",
        "/visitors/{visitor_id}/conversations",
        "read",
        "A visitor's conversations, newest first",
        spec.page_of(spec.CONVERSATION),
        params=(VISITOR,),
        errors=("not_found",),
        handler=visitor_conversations,
    ),
    Endpoint(
        "GET",
        "/agents",
        "read",
        "The site's agents: status, load and capacity",
        spec.page_of(spec.AGENT),
        handler=list_agents,
    ),
    Endpoint(
        "GET",
        "/agents/{agent_id}",
        "read",
        "Get an agent",
        spec.AGENT,
        params=(AGENT_ID,),
        errors=("not_found",),
        handler=get_agent,
    ),
    Endpoint(
        "GET",
        "/departments",
        "read",
        "The departments a conversation can be in",
        LIST,
        handler=list_departments,
    ),
    Endpoint(
        "GET",
        "/labels",
        "read",
        "The site's conversation labels, by name",
        LABELS,
        description=(
            "Defined by the site's admins and supervisors (Admin › Sites › the site › "
            f"Labels), at most {MAX_LABELS}; `color` is one of {', '.join(PALETTE)}."
        ),
        handler=list_labels,
    ),
    Endpoint(
        "GET",
        "/canned_responses",
        "read",
        "The site's canned responses",
        CANNED,
        handler=list_canned,
    ),
    *ADMIN_ENDPOINTS,
]
