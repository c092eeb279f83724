"""Conversation search: the indexer that keeps the index current, and the query the console,
the dashboard and the REST API share.

Every script that stores a message (send, bot, note, a whisper) adds its conversation to the
site's to-index set in the same step. The indexer, on every node, takes a per-site lease, then
reads those conversations' messages after their indexed cursors, tokenizes them here
(chatserver.core.search: Persian and Arabic letters, digits and marks folded) and posts them
with one script per conversation. The set lives in Redis: a node that dies between storing
and indexing leaves the work to the next lease holder. Conversations stored before the index
existed are queued once from the conversation index (the backfill), behind live traffic.

Permissions: supervisors, admins and API keys search the whole site; an agent the chats they
hold, joined or wrote in, plus their departments' (every department for an agent with none,
as routing reads it: chatserver.core.routing).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError

from chatserver.core.departments import parse_departments
from chatserver.core.labels import conversation_label_ids, resolve_labels
from chatserver.core.search import INDEXED_KINDS, Query, matches, parse_query, snippet
from chatserver.log import get_logger
from chatserver.store import Store
from chatserver.store.search import Filters, Viewer
from chatserver.tasks import Background

log = get_logger(__name__)

INTERVAL_S = 0.5
BATCH = 200
MAX_BATCHES = 25  # per site per turn: a backlog never starves the other sites for long
LEASE_MS = 10_000
VIEW_ALL = frozenset({"supervisor", "admin"})
CATCH_UP = 50  # conversations a query indexes itself before reading (see catch_up)


class SearchIndexer:
    def __init__(self, store: Store, node: str, clock: Callable[[], int]) -> None:
        self.store, self.node, self.clock = store, node, clock
        self._tasks = Background()
        self.indexed = 0  # messages read since the start (tests and the bench watch it)

    def start(self) -> None:
        self._tasks.spawn(self._loop(), name="search-indexer")

    async def stop(self) -> None:
        await self._tasks.stop()

    async def _loop(self) -> None:
        while True:
            try:
                await self.tick()
            except (RedisError, OSError) as exc:
                log.warning("search_index_failed", error=str(exc))
            await asyncio.sleep(INTERVAL_S)

    async def tick(self) -> int:
        """One turn over every site this node holds the lease of; returns messages read."""
        read = 0
        for site in await self.store.list_sites():
            if await self.store.search_lease(site, self.node, LEASE_MS):
                read += await self.run_site(site)
        return read

    async def run_site(self, site: str, max_batches: int = MAX_BATCHES) -> int:
        store, read = self.store, 0
        for _ in range(max_batches):
            pending = await store.search_pending(site, BATCH)
            # Live traffic first: older conversations join when the set is nearly empty.
            if len(pending) < BATCH // 2 and await store.backfill_search(site, self.clock(), BATCH):
                pending = await store.search_pending(site, BATCH)
            if not pending:
                break
            read += await store.index_conversations(site, pending)
        self.indexed += read
        return read


def viewer_of(account: dict[str, str]) -> Viewer:
    """Whose permission a signed-in account's search applies (see the module's docstring)."""
    if account.get("role") in VIEW_ALL:
        return Viewer()
    # The account's departments are what routing offers the agent chats of (agent_ws).
    return Viewer(account.get("id", ""), tuple(parse_departments(account.get("departments"))))


@dataclass(frozen=True, slots=True)
class SearchPage:
    items: list[dict[str, Any]]
    next: tuple[int, str] | None

    @property
    def cursor(self) -> str | None:
        return f"{self.next[0]}.{self.next[1]}" if self.next else None


def parse_cursor(raw: str | None) -> tuple[int, str] | None:
    """A page's ``cursor`` ('<created_at>.<id>') back to a position; None when malformed."""
    if not raw or "." not in raw:
        return None
    score, _, conv_id = raw.partition(".")
    return (int(score), conv_id) if score.isdigit() and conv_id else None


async def search(
    store: Store,
    site: str,
    text: str,
    filters: Filters,
    viewer: Viewer,
    before: tuple[int, str] | None = None,
    limit: int = 20,
) -> SearchPage:
    """One page of conversations, newest first, each with a snippet of its first message
    that matches (marked), or none for a query without words."""
    query = parse_query(text)
    await catch_up(store, site)
    hits = await store.search_hits(site, query, filters, viewer, before, limit)
    convs = await store.get_conversations(site, hits.ids)
    streams = await store.first_messages(site, [c["id"] for c in convs]) if convs else []
    site_labels = await store.labels(site) if convs else []
    items = []
    for conv, entries in zip(convs, streams, strict=True):
        labels = resolve_labels(conversation_label_ids(conv.get("labels")), site_labels)
        items.append(
            {
                **summary(conv),
                "labels": [lab.as_dict() for lab in labels],
                "snippet": _snippet(entries, query),
            }
        )
    return SearchPage(items, hits.next)


async def catch_up(store: Store, site: str, most: int = CATCH_UP) -> None:
    """Index what waits before a query reads the index: a message stored before the search
    is found by it (read your writes), not only after the indexer's next turn. Safe beside
    the indexer: each step is fenced by the conversation's cursor. A large backlog (a
    backfill) is left to the indexer beyond the ``most`` longest waiting."""
    pending = await store.search_pending(site, most)
    if pending:
        await store.index_conversations(site, pending)


def _snippet(entries: list[tuple[str, dict[str, str]]], query: Query) -> dict[str, Any] | None:
    if query.empty:
        return None
    for entry_id, f in entries:
        text = f.get("t", "")
        if f.get("k") in INDEXED_KINDS and text and matches(text, query):
            s = snippet(text, query)
            return {
                "message_id": entry_id,
                "from": f.get("k", ""),
                "author_name": f.get("n", ""),
                "ts": int(f["ts"]) if f.get("ts", "").isdigit() else None,
                "parts": s.parts,
                "cut_start": s.cut_start,
                "cut_end": s.cut_end,
            }
    return None  # the name or e-mail matched, or the match is past the messages read


def summary(conv: dict[str, str]) -> dict[str, Any]:
    def ms(name: str) -> int | None:
        return int(conv[name]) if conv.get(name, "").isdigit() else None

    return {
        "id": conv.get("id", ""),
        "status": conv.get("status", ""),
        "department": conv.get("department", ""),
        "visitor": conv.get("visitor", ""),
        "visitor_name": conv.get("visitor_name", ""),
        "agent": conv.get("agent", ""),
        "agent_name": conv.get("agent_name", ""),
        "created_at": ms("created_at"),
        "ended_at": ms("ended_at"),
        "rating": int(conv["rating"]) if conv.get("rating", "").isdigit() else None,
        "preview": conv.get("preview", ""),
    }


def match_text(item: dict[str, Any]) -> str | None:
    """A result's snippet as plain text (the dashboard's ``match`` field)."""
    snip = item.get("snippet")
    return "".join(snip["parts"]) if snip else None
