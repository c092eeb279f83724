"""Builders of server frames shared by both endpoints (see docs/protocol.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from chatserver.core.labels import conversation_label_ids
from chatserver.messages import SendResult, Stored

if TYPE_CHECKING:
    from chatserver.files.links import Links

# System events that only agents see (visitors see the effect, not the bookkeeping).
AGENT_ONLY_EVENTS = frozenset(
    {
        "sla_breach",
        "note",
        "transfer_note",
        "reassigned",
        "monitor_started",
        "taken_over",
        "snoozed",
        "snooze_ended",
        "mail_failed",
        "place_kept",
    }
)
# Kinds of stream entries only agents receive: private notes and supervisors' whispers.
AGENT_ONLY_KINDS = frozenset({"note", "whisper"})


def agent_only(kind: str, event: str = "") -> bool:
    """True for stream entries a visitor must never receive: private notes, whispers and
    agent-only system events. Visitors' cursors still move past them, so resume works
    unchanged."""
    return kind in AGENT_ONLY_KINDS or (kind == "system" and event in AGENT_ONLY_EVENTS)


def stored_frame(
    conv_id: str, m: Stored, links: Links | None = None, site: str = "", now: int = 0
) -> dict[str, Any]:
    """The ``message`` frame of a stored entry, live or replayed (the same bytes either way,
    within a minute: a file's download URLs are signed at ``now`` by ``links``)."""
    frame: dict[str, Any] = {
        "type": "message",
        "conversation_id": conv_id,
        "id": m.id,
        "from": m.kind,
        "author": {"id": m.sender_id, "name": m.sender_name},
        "text": m.text,
        "ts": m.ts,
    }
    if m.client_id:
        frame["client_id"] = m.client_id
    if m.event:
        frame["event"] = m.event
    if m.file:
        meta = orjson.loads(m.file)
        frame["file"] = links.describe(site, conv_id, meta, now) if links is not None else meta
    return frame


def ack_frame(client_id: str, conv_id: str, res: SendResult) -> dict[str, Any]:
    """The sender's receipt: the message (or note) is stored under ``res.id``."""
    return {
        "type": "ack",
        "client_id": client_id,
        "id": res.id,
        "ts": res.ts,
        "conversation_id": conv_id,
        "duplicate": res.duplicate,
    }


def _int(value: str | None) -> int | None:
    return int(value) if value else None


def visitor_summary(visitor_id: str, v: dict[str, str] | None) -> dict[str, Any]:
    v = v or {}
    return {
        "id": visitor_id,
        "name": v.get("name", ""),
        "email": v.get("email", ""),
        # The site's backend signed this visitor's name and e-mail (chatserver/identity.py):
        # they change only by another signed identity or the REST API. Otherwise both are
        # what the visitor (or the page) declared.
        "verified": bool(v.get("user_id")),
        "user_id": v.get("user_id", ""),
        "locale": v.get("locale", ""),
        "user_agent": v.get("user_agent", ""),
        "timezone": v.get("timezone", ""),
        "page": {
            "url": v.get("page_url", ""),
            "title": v.get("page_title", ""),
            "referrer": v.get("referrer", ""),
        },
        "first_seen": _int(v.get("created_at")),
        # The how-manyth visit this is, and when it started (chatserver/core/visits.py); a
        # record from before visits were counted is on its first.
        "visits": _int(v.get("visits")) or (1 if v else 0),
        "visit_started": _int(v.get("visit_started")),
    }


def conversation_summary(
    conv: dict[str, str], visitor: dict[str, str] | None = None
) -> dict[str, Any]:
    agent_id = conv.get("agent", "")
    return {
        "id": conv.get("id", ""),
        "status": conv.get("status", ""),
        "department": conv.get("department", ""),
        "agent": {"id": agent_id, "name": conv.get("agent_name", "")} if agent_id else None,
        "created_at": _int(conv.get("created_at")),
        "queued_at": _int(conv.get("queued_at")),
        "assigned_at": _int(conv.get("assigned_at")),
        "unanswered_since": _int(conv.get("unanswered_since")),
        "snoozed_until": _int(conv.get("snoozed_until")),
        "awaiting_email_reply": awaiting_email_reply(conv),
        "last_id": conv.get("last_id", "0-0"),
        "preview": conv.get("preview", ""),
        "participants": participants(conv),
        # ids: the console shows the site's labels they name (a deleted one's id is skipped)
        "labels": conversation_label_ids(conv.get("labels")),
        "visitor": visitor_summary(conv.get("visitor", ""), visitor),
    }


def awaiting_email_reply(conv: dict[str, str]) -> int | None:
    """Since when the visitor waits for an answer by e-mail (they left an address and the
    team was alerted: chatserver/mail/alerts.py), until an agent next writes; else None."""
    since = _int(conv.get("awaiting_email_reply"))
    if since is None or (_int(conv.get("last_agent_msg_at")) or 0) >= since:
        return None
    return since


def participants(conv: dict[str, str]) -> list[dict[str, str]]:
    """The supervisors who joined the conversation (its ``joined`` field: JSON pairs)."""
    raw = conv.get("joined")
    if not raw:
        return []
    return [{"id": str(pair[0]), "name": str(pair[1])} for pair in orjson.loads(raw)]
