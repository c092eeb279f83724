"""The site's public event feed: what webhooks deliver, and what the API replays from.

While a site has a webhook endpoint (its setting ``feed`` is ``1``), the scripts append one
entry to the site's feed stream in the same atomic step as the change it records, so an
acknowledged change always has its event and a crash cannot leave one without the other.
The entry's stream id is the event's id (and the webhooks' idempotency key); entries older
than :data:`RETENTION_MS` are trimmed as new ones are written.

Every payload is versioned (``"version": 1``); docs/webhooks.md shows one of each type.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import orjson

VERSION = 1
# Two days: a failing endpoint is retried for a day, then its events wait in its dead letters;
# a day more leaves room to replay from the feed after an outage is fixed.
RETENTION_MS = 48 * 3600 * 1000


class FeedEvent(StrEnum):
    CONVERSATION_CREATED = "conversation.created"
    CONVERSATION_REOPENED = "conversation.reopened"
    CONVERSATION_ASSIGNED = "conversation.assigned"
    CONVERSATION_TRANSFERRED = "conversation.transferred"
    CONVERSATION_REQUEUED = "conversation.requeued"
    CONVERSATION_RESOLVED = "conversation.resolved"
    CONVERSATION_MISSED = "conversation.missed"
    CONVERSATION_ABANDONED = "conversation.abandoned"
    MESSAGE_CREATED = "message.created"
    NOTE_CREATED = "note.created"
    RATING_CREATED = "rating.created"
    VISITOR_UPDATED = "visitor.updated"
    SLA_BREACHED = "sla.breached"
    SLA_AT_RISK = "sla.at_risk"


def payload(site: str, entry_id: str, fields: dict[str, str]) -> dict[str, Any]:
    """The JSON body a webhook receives for one feed entry."""
    data = orjson.loads(fields.get("d") or "{}")
    return {
        "id": entry_id,
        "type": fields.get("t", ""),
        "version": VERSION,
        "site": site,
        "created_at": int(fields.get("ts") or 0),
        "conversation_id": fields.get("c") or None,
        "data": data if isinstance(data, dict) else {},
    }
