"""Retention: what the retention job reads and deletes (chatserver/lua/retention_delete.lua,
index_prune.lua, email_index.lua), and the visitor hello that gives a chat-less record its
expiry (visitor_seen.lua)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from chatserver.core.visits import PAGES_KEPT, VISIT_GAP_MS, page_entry
from chatserver.store.base import StoreBase

_TRIES = 3


@dataclass(frozen=True, slots=True)
class Backfill:
    """One step of the one-time backfill over the conversation index."""

    listed: int  # ended conversations added to the ended index
    done: bool


class RetentionStore(StoreBase):
    async def visitor_seen(
        self,
        site: str,
        visitor_id: str,
        fields: dict[str, str],
        keep_ms: int,
        now: int | None = None,
        page: tuple[str, str] = ("", ""),
    ) -> tuple[int, int]:
        """Store a visitor's record at hello; with no conversation it expires after
        ``keep_ms`` (0: never) unless they come back or write. Counts their visits (a new one
        after :data:`~chatserver.core.visits.VISIT_GAP_MS` without activity, its pages list
        then emptied) and adds ``page`` (url, title; url '' for none) to this visit's pages.
        ``now`` defaults to ``fields['last_seen']`` (else the wall clock). Returns (visits,
        visit_started)."""
        when = now if now is not None else int(fields.get("last_seen") or time.time() * 1000)
        url, title = page
        args: list[str | int] = [
            visitor_id,
            keep_ms,
            when,
            VISIT_GAP_MS,
            PAGES_KEPT,
            url,
            page_entry(url, title, when) if url else "",
        ]
        for name, value in fields.items():
            args += [name, value]
        k = self.k
        res = await self.scripts.run(
            "visitor_seen",
            [
                k.visitor(site, visitor_id),
                k.visitor_conversations(site, visitor_id),
                k.visitor_emails(site),
                k.visitor_pages(site, visitor_id),
                k.visitor_presence(site, visitor_id),
            ],
            args,
        )
        return int(res[0]), int(res[1])

    async def retention_lease(self, site: str, node: str, ttl_ms: int) -> bool:
        """Whether this node runs the site's retention now (one node at a time; the work is
        safe to repeat, the lease only saves doing it twice)."""
        key = self.k.retention_lease(site)
        ok = await self.r.set(key, node, px=ttl_ms, nx=True)
        if ok:
            return True
        return bool(await self.r.get(key) == node)

    async def ended_before(self, site: str, cutoff: int, limit: int) -> list[str]:
        """Conversations listed as ended at or before ``cutoff``, oldest first."""
        ids: list[str] = await self.r.zrangebyscore(
            self.k.ended_conversations(site), "-inf", cutoff, start=0, num=limit
        )
        return ids

    async def delete_ended(
        self, site: str, conv_id: str, cutoff: int, now: int, keep_ms: int
    ) -> tuple[str, bool]:
        """Delete one ended conversation due for it; returns the outcome ('deleted', 'later',
        'open', 'gone') and whether its visitor's record went too."""
        k = self.k
        visitor = await self.r.hget(k.conversation(site, conv_id), "visitor") or ""
        for _ in range(_TRIES):
            res = await self.scripts.run(
                "retention_delete",
                [
                    k.ended_conversations(site),
                    k.conversation_index(site),
                    k.conversation(site, conv_id),
                    k.messages(site, conv_id),
                    k.client_ids(site, conv_id),
                    k.visitor(site, visitor),
                    k.visitor_conversations(site, visitor),
                    k.visitor_presence(site, visitor),
                    k.verified_users(site),
                    k.visitor_emails(site),
                    k.timers(site),
                    k.search_doc(site, conv_id),
                    k.search_todo(site),
                    k.search_vocab(site),
                    k.visitor_pages(site, visitor),
                ],
                [conv_id, visitor, cutoff, now, keep_ms, k.search_postings_prefix(site)],
            )
            if res[0] != "retry":
                return str(res[0]), len(res) > 1 and int(res[1]) == 1
            visitor = str(res[1])
        return "retry", False

    async def backfill_ended(self, site: str, now: int, limit: int) -> Backfill:
        """List conversations that ended before the ended index existed, ``limit`` at a time
        from where the last call stopped (the cursor lives in Redis: any node continues), and
        index their visitors' e-mails. Done once it passes the time it started."""
        k = self.k
        state = k.retention_state(site)
        done, cursor, until = await self.r.hmget(state, ["backfilled", "cursor", "until"])
        if done:
            return Backfill(0, True)
        if not until:
            # Conversations that end after this moment are listed by the scripts themselves.
            until = str(now)
            await self.r.hsetnx(state, "until", until)
            until = await self.r.hget(state, "until") or until
        start = float(cursor) if cursor else float("-inf")
        page: list[tuple[str, float]] = await self.r.zrangebyscore(
            k.conversation_index(site), start, int(until), start=0, num=limit, withscores=True
        )
        read = self.r.pipeline(transaction=False)
        for cid, _ in page:
            read.hmget(k.conversation(site, cid), ["status", "ended_at", "visitor"])
        convs: list[list[str | None]] = await read.execute() if page else []
        listed = 0
        pipe = self.r.pipeline(transaction=False)
        for (conv_id, _), (status, ended_at, _visitor) in zip(page, convs, strict=True):
            if status in ("resolved", "missed", "abandoned") and ended_at:
                # NX: a conversation that ended again since is already listed at its real end.
                pipe.zadd(k.ended_conversations(site), {conv_id: int(ended_at)}, nx=True)
                listed += 1
        if listed:
            await pipe.execute()
        for visitor in sorted({v for _, _, v in convs if v}):
            await self.scripts.run(
                "email_index", [k.visitor(site, visitor), k.visitor_emails(site)], [visitor]
            )
        last = page[-1][1] if page else None
        finished = len(page) < limit or last is None
        if not finished and last is not None and start == last:
            last += 1  # a whole page in one millisecond: step past it rather than loop
        mapping = {"backfilled": "1"} if finished else {"cursor": str(last)}
        await self.r.hset(state, mapping=mapping)
        return Backfill(listed, finished)

    async def prune_index(self, site: str, which: str, cursor: int, count: int) -> tuple[int, int]:
        """One HSCAN step over the verified-users map or the e-mail index (``which``: 'users'
        or 'emails'), dropping entries whose visitor record has expired; returns the next
        cursor (0: the pass is complete) and how many entries were dropped."""
        k = self.k
        key = k.verified_users(site) if which == "users" else k.visitor_emails(site)
        next_cursor, entries = await self.r.hscan(key, cursor, count=count)
        dropped = 0
        pairs = [
            (field, vid)
            for field, value in entries.items()
            for vid in (value.split() if which == "emails" else [value])
        ]
        if pairs:
            pipe = self.r.pipeline(transaction=False)
            for _, vid in pairs:
                pipe.exists(k.visitor(site, vid))
            alive = await pipe.execute()
            for (field, vid), exists in zip(pairs, alive, strict=True):
                if not exists:
                    dropped += int(
                        await self.scripts.run(
                            "index_prune", [key, k.visitor(site, vid)], [field, vid, which]
                        )
                    )
        return int(next_cursor), dropped

    async def retention_progress(self, site: str) -> dict[str, str]:
        data: dict[str, str] = await self.r.hgetall(self.k.retention_state(site))
        return data

    async def count_retention(self, site: str, deleted: int, visitors: int) -> None:
        if deleted or visitors:
            pipe = self.r.pipeline(transaction=False)
            pipe.hincrby(self.k.retention_state(site), "deleted", deleted)
            pipe.hincrby(self.k.retention_state(site), "visitors_deleted", visitors)
            await pipe.execute()
