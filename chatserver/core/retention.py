"""How long a site keeps what its chats leave behind: pure rules, no I/O.

A site's ``retention_days`` setting: ended conversations older than that many days are
deleted (messages, indexes, the visitor's link to them), and a visitor with nothing left
expires that long after they were last seen. 0 keeps everything. Open conversations are
never deleted, however old.
"""

from __future__ import annotations

from collections.abc import Mapping

DEFAULT_RETENTION_DAYS = 180
MAX_RETENTION_DAYS = 3650
DAY_MS = 86_400_000


def retention_days(settings: Mapping[str, str] | None) -> int:
    """The site's retention in days (0: keep everything). A missing or malformed setting
    keeps the default: deleting a customer's data because of a typo is not recoverable."""
    raw = (settings or {}).get("retention_days", "")
    if not raw.strip().isdigit():
        return DEFAULT_RETENTION_DAYS
    return min(int(raw), MAX_RETENTION_DAYS)


def parse_retention_days(raw: str) -> int:
    """An admin's input for ``retention_days``; raises ValueError with a message to show."""
    text = raw.strip()
    if not text.isdigit() or int(text) > MAX_RETENTION_DAYS:
        raise ValueError(f"retention must be a whole number of days from 0 to {MAX_RETENTION_DAYS}")
    return int(text)


def retention_ms(days: int) -> int:
    return days * DAY_MS


def cutoff_ms(now: int, days: int) -> int | None:
    """Conversations that ended at or before this instant are due for deletion (None: the
    site keeps everything)."""
    if days <= 0:
        return None
    return now - retention_ms(days)
