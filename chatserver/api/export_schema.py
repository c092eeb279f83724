"""The schema of a privacy export (``GET /api/v1/privacy/export``, the admin page's download):
what a data subject's request is answered with (docs/privacy.md). Kept apart from
chatserver.api.spec, whose schemas are the API's everyday objects."""

from __future__ import annotations

from chatserver.api.spec import nullable, obj

EXPORT_MESSAGE = obj(
    {
        "id": {"type": "string", "description": "the stream id"},
        "from": {"type": "string", "description": "visitor, agent, bot, note, whisper or system"},
        "author": {"type": "string"},
        "text": {"type": "string"},
        "at": {"type": "string", "format": "date-time"},
        "event": {"type": "string", "description": "system events; `erased` for a tombstone"},
    },
    ("id", "from", "author", "text", "at"),
)
EXPORT = obj(
    {
        "format": {"const": "chatserver-export-v1"},
        "site": {"type": "string"},
        "exported_at": {"type": "string", "format": "date-time"},
        "query": {"type": "object"},
        "visitors": {
            "type": "array",
            "items": obj(
                {
                    "visitor_id": {"type": "string"},
                    "details": {
                        "type": "object",
                        "description": "the visitor record: name, email, user_id, locale, "
                        "timezone, page, user agent, first and last seen, …",
                    },
                    "conversations": {
                        "type": "array",
                        "items": obj(
                            {
                                "id": {"type": "string"},
                                "status": {"type": "string"},
                                "department": {"type": "string"},
                                "agent": {"type": "string"},
                                "created_at": nullable({"type": "string"}),
                                "ended_at": nullable({"type": "string"}),
                                "rating": nullable({"type": "object"}),
                                "messages": {"type": "array", "items": EXPORT_MESSAGE},
                            },
                            ("id", "status", "messages"),
                        ),
                    },
                    "pages": {
                        "type": "array",
                        "description": "the pages of their current visit, newest first",
                        "items": obj(
                            {
                                "url": {"type": "string"},
                                "title": {"type": "string"},
                                "at": {"type": "string", "format": "date-time"},
                            },
                            ("url", "title", "at"),
                        ),
                    },
                },
                ("visitor_id", "details", "conversations", "pages"),
            ),
        },
        "files": {
            "type": "array",
            "description": "the files of their conversations, both ways",
            "items": obj(
                {
                    "id": {"type": "string"},
                    "conversation_id": {"type": "string"},
                    "message_id": {"type": "string"},
                    "uploaded_by": {"type": "string", "enum": ["visitor", "agent"]},
                    "name": {"type": "string"},
                    "type": {"type": "string"},
                    "size": {"type": "integer"},
                    "uploaded_at": nullable({"type": "string"}),
                },
                ("id", "conversation_id", "name", "type", "size"),
            ),
        },
    },
    ("format", "site", "exported_at", "query", "visitors", "files"),
)
