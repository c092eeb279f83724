"""Site-wide notices without I/O: what a notice may say and until when, and what of it the
widget and the staff see.

A site has at most one notice at a time (posting replaces it). It speaks English, Persian or
both; the widget shows the visitor's language and falls back to the other. It always expires:
at most :data:`MAX_DAYS` ahead, and the store gives its key the same expiry, so an ended or
expired notice is never served.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from chatserver.core.errors import CodedError

LANGUAGES = ("en", "fa")
MAX_TEXT = 500  # characters of each language's text, after trimming
MAX_DAYS = 30
MAX_AHEAD_MS = MAX_DAYS * 86_400_000
MIN_AHEAD_MS = 60_000  # an expiry sooner than a minute from now is a typing mistake


class NoticeError(CodedError):
    """A notice that cannot be posted; ``code`` names the rule (docs/protocol.md, Notices)."""


@dataclass(frozen=True, slots=True)
class Notice:
    id: str
    text: dict[str, str]  # language -> text, only the languages given
    posted_at: int  # ms
    expires_at: int  # ms
    by: str  # the poster's name

    def public(self) -> dict[str, Any]:
        """What a visitor's widget receives (docs/protocol.md, ``notice``)."""
        return {"id": self.id, "text": self.text, "expires_at": self.expires_at}

    def staff(self) -> dict[str, Any]:
        """What the dashboard and the REST API show."""
        return {**self.public(), "posted_at": self.posted_at, "by": self.by}

    def encode(self) -> str:
        return orjson.dumps(self.staff()).decode()


def clean_text(raw: object) -> str:
    """One language's text as stored: NFC, trimmed, line breaks as ``\\n``; '' for none.
    Raises :class:`NoticeError` for a non-string, control characters (other than line
    breaks and tabs), bidi overrides or more than :data:`MAX_TEXT` characters."""
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise NoticeError("invalid_notice", "a notice's text is a string")
    text = unicodedata.normalize("NFC", raw.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if len(text) > MAX_TEXT:
        raise NoticeError("notice_too_long", f"a notice's text is at most {MAX_TEXT} characters")
    # Cf would also catch the ZWNJ Persian words need, so only the bidi overrides of it.
    if any(
        (unicodedata.category(ch) == "Cc" and ch not in "\n\t") or "\u202a" <= ch <= "\u202e"
        for ch in text
    ):
        raise NoticeError("invalid_notice", "a notice's text cannot hold control characters")
    return text


def expiry(expires_at: object, expires_in: object, now: int) -> int:
    """The expiry in ms from either an absolute ``expires_at`` (ms since the epoch) or
    ``expires_in`` (seconds from ``now``); exactly one of them. Raises :class:`NoticeError`
    (``invalid_expiry``) unless it is at least a minute and at most :data:`MAX_DAYS` days
    ahead."""
    given = [v for v in (expires_at, expires_in) if v is not None]
    if len(given) != 1 or type(given[0]) is not int:
        raise NoticeError(
            "invalid_expiry", "give either expires_at (ms) or expires_in (seconds), an integer"
        )
    at = expires_at if isinstance(expires_at, int) else now + int(given[0]) * 1000
    if at < now + MIN_AHEAD_MS:
        raise NoticeError("invalid_expiry", "a notice expires at least a minute from now")
    if at > now + MAX_AHEAD_MS:
        raise NoticeError("invalid_expiry", f"a notice expires at most {MAX_DAYS} days from now")
    return at


def check(body: Mapping[str, Any], now: int, notice_id: str, by: str) -> Notice:
    """The notice a request body ``{"text": {"en": …, "fa": …}, "expires_at" | "expires_in"}``
    describes, posted ``now`` by ``by``. Raises :class:`NoticeError`: ``invalid_notice``
    (shape, unknown language), ``notice_text_required`` (no language has text),
    ``notice_too_long``, ``invalid_expiry``."""
    texts = body.get("text")
    if not isinstance(texts, Mapping):
        raise NoticeError("invalid_notice", 'text is an object: {"en": …, "fa": …}')
    unknown = sorted(str(k) for k in texts if k not in LANGUAGES)
    if unknown:
        raise NoticeError("invalid_notice", f"unknown language {unknown[0]!r}: en or fa")
    text = {lang: t for lang in LANGUAGES if (t := clean_text(texts.get(lang)))}
    if not text:
        raise NoticeError("notice_text_required", "write the notice in English or Persian")
    at = expiry(body.get("expires_at"), body.get("expires_in"), now)
    return Notice(notice_id, text, now, at, by[:100])


def decode(raw: str | None, now: int) -> Notice | None:
    """The stored notice, unless none, expired at ``now`` (the key's own expiry may lag by
    a moment) or unreadable."""
    if not raw:
        return None
    try:
        data = orjson.loads(raw)
        notice = Notice(
            str(data["id"]),
            {k: str(v) for k, v in data["text"].items() if k in LANGUAGES and v},
            int(data["posted_at"]),
            int(data["expires_at"]),
            str(data.get("by", "")),
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
        return None
    return notice if notice.expires_at > now and notice.text else None
