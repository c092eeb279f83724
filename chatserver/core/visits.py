"""A visitor's visits: when one starts, and what the agent is shown of the current one.

A visit is the web-analytics session: it ends after :data:`VISIT_GAP_MS` without activity
(a hello, a page view, a socket closing) and no socket open, and the next hello starts a new
one. The counting itself happens in one step in ``lua/visitor_seen.lua`` (which gets these
numbers as arguments); this module reads what the scripts stored.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

VISIT_GAP_MS: Final = 30 * 60 * 1000
"""Inactivity after which the next hello starts a new visit (the usual 30 minutes)."""

PAGES_KEPT: Final = 25
"""How many pages of the current visit are kept (the newest)."""


def page_entry(url: str, title: str, ts: int) -> str:
    """One entry of the pages list as the scripts store it (compact JSON)."""
    return json.dumps({"url": url, "title": title, "ts": ts}, separators=(",", ":"))


def parse_pages(raw: Sequence[str]) -> list[dict[str, Any]]:
    """The stored pages list (newest first) as ``{url, title, ts}`` dicts; an entry that is
    not one (written by hand, or by a future version) is skipped rather than failing the
    whole visitor."""
    pages: list[dict[str, Any]] = []
    for item in raw:
        try:
            entry = json.loads(item)
        except ValueError:
            continue
        if not isinstance(entry, dict):
            continue
        url, title, ts = entry.get("url"), entry.get("title", ""), entry.get("ts")
        if not isinstance(url, str) or not isinstance(title, str) or not isinstance(ts, int):
            continue
        pages.append({"url": url, "title": title, "ts": ts})
    return pages


def online_now(presence: Mapping[str, str], now: int) -> bool:
    """Whether some node holds a socket of the visitor: the presence hash maps node ids to
    expiries (ms); its 'left' field is a time passed, no node (as lua/_lib.lua reads it)."""
    for node, until in presence.items():
        if node == "left":
            continue
        try:
            if int(until) > now:
                return True
        except ValueError:
            continue
    return False


def visitor_context(
    pages: Sequence[str], presence: Mapping[str, str], visitor: Mapping[str, str], now: int
) -> dict[str, Any]:
    """What the agent sees beside the visitor's record: ``online``, ``left_at`` (when their
    last socket closed, ms; None while online or when unknown) and this visit's ``pages``.

    ``visitor`` is their record (``last_active``: the last hello, page view or socket close).
    """
    online = online_now(presence, now)
    left_at: int | None = None
    if not online:
        left_at = _int(visitor.get("last_active")) or _int(visitor.get("last_seen"))
    return {"online": online, "left_at": left_at, "pages": parse_pages(pages)}


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None
