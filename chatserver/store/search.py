"""Conversation search: the index's reads and writes (lua/search_index.lua, search_query.lua,
search_lease.lua). What to index and how a query reads is chatserver/core/search.py; the loop
that keeps the index current is chatserver/search.py.

The index, per site: a sorted set per token of the conversations that hold it, scored by
created_at (what "newest first" and the date filter read: a posting never needs rewriting
when a chat moves on); per conversation one string with its indexed cursor and its tokens
(what unindexing removes); the vocabulary (a last word's prefix expands through it); and the
to-index set the message-storing scripts add to.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

import orjson

from chatserver.core.search import (
    MAX_PREFIX_EXPANSIONS,
    DocUpdate,
    Query,
    doc_update,
    participant,
    prefix_range,
)
from chatserver.store.base import StoreBase

READ_COUNT = 1000  # messages read per conversation per indexing step


@dataclass(frozen=True, slots=True)
class Filters:
    """What a search narrows to besides its words; empty strings mean any."""

    agent: str = ""  # held it, or wrote in it
    status: str = ""  # a status, or 'open' for any open one
    rating: str = ""
    label: str = ""  # a label id (the caller checks it is one of the site's)
    start: int = 0  # created at or after (ms)
    end: int = 0  # created before (ms); 0: no bound


@dataclass(frozen=True, slots=True)
class Viewer:
    """Whose permission a search applies: '' agent id for the whole site."""

    agent_id: str = ""
    departments: tuple[str, ...] = ()  # empty: every department (as routing reads it)


@dataclass(frozen=True, slots=True)
class Hits:
    ids: list[str]
    next: tuple[int, str] | None  # the position to go on from (created_at, id)


class SearchStore(StoreBase):
    # --- indexing ---------------------------------------------------------------------------
    async def search_lease(self, site: str, node: str, ttl_ms: int) -> bool:
        ok = await self.scripts.run("search_lease", [self.k.search_lease(site)], [node, ttl_ms])
        return bool(ok)

    async def search_pending(self, site: str, limit: int) -> list[tuple[str, float]]:
        """Conversations waiting to be indexed, longest waiting first, with their scores."""
        pending: list[tuple[str, float]] = await self.r.zrange(
            self.k.search_todo(site), 0, limit - 1, withscores=True
        )
        return pending

    async def index_conversations(self, site: str, batch: Sequence[tuple[str, float]]) -> int:
        """Index the new messages of each conversation of ``batch`` (from
        :meth:`search_pending`); returns how many messages were read. Two reads for the whole
        batch, then one script per conversation, all in one pipeline."""
        if not batch:
            return 0
        k = self.k
        read = self.r.pipeline(transaction=False)
        for conv_id, _ in batch:
            read.get(k.search_doc(site, conv_id))
            read.hmget(
                k.conversation(site, conv_id),
                ["visitor", "visitor_name", "agent", "joined"],
            )
        first = await read.execute()
        docs: list[str | None] = first[0::2]
        convs: list[list[str | None]] = first[1::2]
        cursors = [(d.split(" ", 1)[0] if d else "") for d in docs]
        read = self.r.pipeline(transaction=False)
        for (conv_id, _), cursor in zip(batch, cursors, strict=True):
            start = f"({cursor}" if cursor and cursor != "0-0" else "-"
            read.xrange(k.messages(site, conv_id), min=start, max="+", count=READ_COUNT)
        for visitor, *_ in convs:
            read.hget(k.visitor(site, visitor or "-"), "email")
        second = await read.execute()
        streams, emails = second[: len(batch)], second[len(batch) :]
        calls = []
        total = 0
        for (conv_id, score), doc, cursor, conv, entries, email in zip(
            batch, docs, cursors, convs, streams, emails, strict=True
        ):
            _, name, agent, joined = conv
            total += len(entries)
            posted = doc.split(" ")[1:] if doc else []
            update: DocUpdate = doc_update(
                posted,
                ((f.get("k", ""), f.get("s", ""), f.get("t", "")) for _, f in entries),
                name or "",
                email or "",
                [agent or "", *_joined_ids(joined or "")],
            )
            new_cursor = entries[-1][0] if entries else (cursor or "0-0")
            done = len(entries) < READ_COUNT
            calls.append(
                self.scripts.run(
                    "search_index",
                    [
                        k.conversation(site, conv_id),
                        k.search_doc(site, conv_id),
                        k.search_todo(site),
                        k.search_vocab(site),
                    ],
                    [
                        conv_id,
                        cursor,
                        new_cursor,
                        repr(score) if done else "",
                        k.search_postings_prefix(site),
                        *update.new_tokens,
                    ],
                )
            )
        await asyncio.gather(*calls)
        return total

    async def backfill_search(self, site: str, now: int, limit: int) -> int:
        """Queue for indexing ``limit`` more conversations stored before the index existed
        (a page of the conversation index, oldest first, from a cursor any node continues);
        returns how many were queued (0 once done). Later conversations are queued by the
        scripts that store their messages."""
        k = self.k
        state = k.search_state(site)
        done, cursor, until = await self.r.hmget(state, ["backfilled", "cursor", "until"])
        if done:
            return 0
        if not until:
            await self.r.hsetnx(state, "until", str(now))
            until = await self.r.hget(state, "until") or str(now)
        start = float(cursor) if cursor else float("-inf")
        page: list[tuple[str, float]] = await self.r.zrangebyscore(
            k.conversation_index(site), start, int(until), start=0, num=limit, withscores=True
        )
        if page:
            # NX: one waiting for its new messages keeps its place.
            await self.r.zadd(k.search_todo(site), {c: s for c, s in page}, nx=True)
        finished = len(page) < limit
        last = page[-1][1] if page else start
        if not finished and last == start:
            last += 1  # a whole page in one millisecond: step past it rather than loop
        await self.r.hset(state, mapping={"backfilled": "1"} if finished else {"cursor": last})
        return len(page)

    async def search_backlog(self, site: str) -> int:
        n: int = await self.r.zcard(self.k.search_todo(site))
        return n

    # --- queries ----------------------------------------------------------------------------
    async def expand_prefix(self, site: str, prefix: str) -> list[str]:
        lo, hi = prefix_range(prefix)
        found: list[str] = await self.r.zrangebylex(
            self.k.search_vocab(site), lo, hi, start=0, num=MAX_PREFIX_EXPANSIONS
        )
        return found

    async def search_hits(
        self,
        site: str,
        query: Query,
        filters: Filters,
        viewer: Viewer,
        before: tuple[int, str] | None,
        limit: int,
        scan: int = 5000,
    ) -> Hits:
        """One page of the conversations that match, newest first, after ``before``."""
        k = self.k
        expansions: list[str] = []
        if query.prefix:
            expansions = await self.expand_prefix(site, query.prefix)
            if not expansions:
                return Hits([], None)
        top = before[0] if before else (filters.end - 1 if filters.end else "+inf")
        keys = [
            k.conversation_index(site),
            k.search_postings(site, participant(viewer.agent_id or "-")),
            k.search_postings(site, participant(filters.agent or "-")),
            *(k.search_postings(site, w) for w in query.words),
            *(k.search_postings(site, w) for w in expansions),
        ]
        res: list[str] = await self.scripts.run(
            "search_query",
            keys,
            [
                len(query.words),
                len(expansions),
                top,
                before[1] if before else "",
                filters.start or "-inf",
                limit,
                scan,
                viewer.agent_id,
                ",".join(viewer.departments),
                filters.agent,
                filters.status,
                filters.rating,
                filters.label,
                k.conversation(site, ""),
            ],
        )
        nxt = (int(float(res[0])), str(res[1])) if res[1] else None
        return Hits([str(i) for i in res[2:]], nxt)

    async def first_messages(
        self, site: str, conv_ids: Sequence[str], count: int = 500
    ) -> list[list[tuple[str, dict[str, str]]]]:
        """The first ``count`` entries of each conversation (where a snippet is looked for)."""
        pipe = self.r.pipeline(transaction=False)
        for cid in conv_ids:
            pipe.xrange(self.k.messages(site, cid), count=count)
        out: list[list[tuple[str, dict[str, str]]]] = await pipe.execute() if conv_ids else []
        return out


def _joined_ids(joined: str) -> list[str]:
    """Agent ids of the conversation's ``joined`` field (JSON [[id, name], ...])."""
    try:
        pairs = orjson.loads(joined) if joined else []
    except orjson.JSONDecodeError:
        return []
    return [str(p[0]) for p in pairs if isinstance(p, list) and p]
