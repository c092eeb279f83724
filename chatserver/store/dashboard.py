"""What the supervisors' dashboard reads and the rollups it keeps.

The scripts write one latency record per moment (``lua/_lib.lua``). :meth:`fold_metrics`
moves new records, incrementally and exactly once across nodes, into one list per clock hour
(kept :data:`HOUR_RETENTION_MS`) and into cumulative histograms for ``/metrics``; a sampler
keeps the highest queue length and wait of each minute (kept :data:`MINUTE_RETENTION_MS`).
Reading a window costs one list per hour it covers: never a scan over all conversations.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgpack

from chatserver.core.departments import parse_departments
from chatserver.core.paging import Cursor, Entry, last_cursor
from chatserver.core.window_figures import Record, histogram_increments, hour_of
from chatserver.store.base import StoreBase
from chatserver.store.paged import holders, zpage

HOUR_RETENTION_MS = 8 * 24 * 3_600_000  # a week of days in any time zone, plus one
MINUTE_RETENTION_MS = 48 * 3_600_000
FOLD_BATCH = 1000
LIVE_PAGE = 1000  # open conversations read per round trip for the "now" panel (no cap)

_CONV_FIELDS = (
    "id",
    "status",
    "department",
    "visitor",
    "visitor_name",
    "agent",
    "agent_name",
    "created_at",
    "queued_at",
    "unanswered_since",
    "first_visitor_msg_at",
    "first_agent_reply_at",
    "last_agent_msg_at",
    "last_visitor_msg_at",
    "ended_at",
    "rating",
    "preview",
    "department_changes",  # the SLA clock's hours after a transfer (core/department_hours)
)


@dataclass(frozen=True, slots=True)
class LiveState:
    """One read of a site's live state for the "now" panel."""

    open_convs: list[dict[str, str]]
    agents: list[dict[str, Any]]
    # Open conversations with neither an owner nor a queue entry (should always be empty).
    unowned: list[str] = field(default_factory=list)


class DashboardStore(StoreBase):
    # --- rollups --------------------------------------------------------------------------
    async def fold_metrics(self, site: str, max_batches: int = 20) -> int:
        """Fold new latency records into the hourly buckets; returns how many were folded.

        Safe on every node at once: a fold whose cursor moved under it writes nothing and
        reads again.
        """
        k = self.k
        folded = 0
        for _ in range(max_batches):
            cursor = await self.r.get(k.metrics_cursor(site)) or ""
            start = f"({cursor}" if cursor else "-"
            entries = await self.r.xrange(k.latency(site), min=start, max="+", count=FOLD_BATCH)
            if not entries:
                break
            records = [rec for _, f in entries if (rec := Record.from_stream(f)) is not None]
            buckets: dict[int, list[str]] = {}
            for rec in records:
                buckets.setdefault(hour_of(rec.ts), []).append(rec.encode())
            hours = sorted(buckets)
            ok = await self.scripts.run(
                "metrics_fold",
                [
                    k.metrics_cursor(site),
                    k.metrics_histograms(site),
                    *(k.metrics_hour(site, h) for h in hours),
                ],
                [
                    cursor,
                    entries[-1][0],
                    HOUR_RETENTION_MS,
                    msgpack.packb(histogram_increments(records)),
                    *(msgpack.packb(buckets[h]) for h in hours),
                ],
            )
            if ok:
                folded += len(records)
                if len(entries) < FOLD_BATCH:
                    break
        return folded

    async def metric_records(self, site: str, start: int, end: int) -> list[Record]:
        """Every folded record of the clock hours that ``[start, end)`` touches (callers cut
        them to the window with :func:`chatserver.core.window_figures.in_window`)."""
        hours = range(hour_of(start), hour_of(max(start, end - 1)) + 1)
        pipe = self.r.pipeline(transaction=False)
        for h in hours:
            pipe.lrange(self.k.metrics_hour(site, h), 0, -1)
        lists: list[list[str]] = await pipe.execute()
        return [Record.decode(raw) for items in lists for raw in items]

    async def write_gauges(self, site: str, minute: int, values: dict[str, int]) -> None:
        """Keep the highest of each value sampled in ``minute``."""
        flat: list[str | int] = []
        for name, value in sorted(values.items()):
            flat += [name, value]
        await self.scripts.run(
            "metrics_gauge", [self.k.metrics_minute(site, minute)], [MINUTE_RETENTION_MS, *flat]
        )

    async def read_gauges(
        self, site: str, first_minute: int, last_minute: int
    ) -> dict[int, dict[str, str]]:
        minutes = range(first_minute, last_minute + 1)
        pipe = self.r.pipeline(transaction=False)
        for m in minutes:
            pipe.hgetall(self.k.metrics_minute(site, m))
        values: list[dict[str, str]] = await pipe.execute()
        return {m: v for m, v in zip(minutes, values, strict=True) if v}

    async def histograms(self, site: str) -> dict[str, int]:
        raw: dict[str, str] = await self.r.hgetall(self.k.metrics_histograms(site))
        return {field: int(value) for field, value in raw.items()}

    async def message_counts(self, site: str) -> dict[str, int]:
        raw: dict[str, str] = await self.r.hgetall(self.k.message_counts(site))
        return {kind: int(value) for kind, value in raw.items()}

    # --- live state -----------------------------------------------------------------------
    async def _conv_rows(
        self, site: str, conv_ids: Sequence[str], fields: Sequence[str] = _CONV_FIELDS
    ) -> list[dict[str, str]]:
        """The rows of ``conv_ids`` (those that exist), in one script call; ``fields`` must
        include status."""
        if not conv_ids:
            return []
        keys = [self.k.conversation(site, cid) for cid in conv_ids]
        rows = []
        for values in await self.scripts.run("hash_fields", keys, fields):
            row = {f: v for f, v in zip(fields, values, strict=True) if v is not None}
            if row.get("status"):
                rows.append(row)
        return rows

    async def shown_fields(
        self, site: str, conv_ids: Sequence[str], fields: Sequence[str]
    ) -> dict[str, dict[str, str]]:
        """``fields`` of each of ``conv_ids`` (the rows a list shows), by id."""
        if not conv_ids:
            return {}
        keys = [self.k.conversation(site, cid) for cid in conv_ids]
        values = await self.scripts.run("hash_fields", keys, fields)
        return {
            cid: {f: v for f, v in zip(fields, vals, strict=True) if v is not None}
            for cid, vals in zip(conv_ids, values, strict=True)
        }

    async def open_pages(
        self,
        site: str,
        owners: bool = True,
        page: int = LIVE_PAGE,
        fields: Sequence[str] = _CONV_FIELDS,
    ) -> AsyncIterator[tuple[list[dict[str, str]], list[str]]]:
        """Every open conversation of the site (queued ones included), a page at a time:
        (the rows, the ids among them found unowned when ``owners``). A site of any size is
        read whole, in pages of ``page`` by creation time (chatserver.core.paging), three
        round trips each; the next page is read while the caller folds this one, and
        nothing is held but the page. ``fields``: those of each row (with id, status,
        department and agent)."""
        key = self.k.open_conversations(site)

        async def read(cursor: Cursor | None) -> tuple[list[Entry], list[dict[str, str]]]:
            entries = await zpage(self.r, key, cursor, page)
            return entries, await self._conv_rows(site, [cid for cid, _ in entries], fields)

        nxt: asyncio.Future[tuple[list[Entry], list[dict[str, str]]]] | None
        nxt = asyncio.ensure_future(read(None))
        try:
            while nxt is not None:
                entries, rows = await nxt
                nxt = (
                    asyncio.ensure_future(read(last_cursor(entries)))
                    if len(entries) == page
                    else None
                )
                yield rows, (await self.unowned(site, rows) if owners else [])
        finally:
            if nxt is not None:
                nxt.cancel()

    async def live_agents(self, site: str) -> list[dict[str, Any]]:
        """The site's agents as the "now" panel shows them, in one pipelined round trip
        after the id read."""
        k = self.k
        agent_ids = sorted(await self.r.smembers(k.agents(site)))
        pipe = self.r.pipeline(transaction=False)
        for aid in agent_ids:
            pipe.hmget(
                k.agent_state(site, aid),
                ["name", "status", "capacity", "departments", "status_since"],
            )
            pipe.scard(k.agent_conversations(site, aid))
            pipe.exists(k.presence(site, aid))
        res = await pipe.execute() if agent_ids else []
        agents = []
        for i, aid in enumerate(agent_ids):
            (name, status, capacity, depts, since), load, present = res[i * 3 : i * 3 + 3]
            agents.append(
                {
                    "id": aid,
                    "name": name or "",
                    # Without a heartbeat the agent is gone, whatever its hash still says.
                    "status": (status or "offline") if present else "offline",
                    "recorded_status": status or "offline",
                    "capacity": int(capacity or 0),
                    "load": int(load),
                    "departments": parse_departments(depts),
                    "status_since": int(since or 0),
                }
            )
        return agents

    async def live_state(self, site: str, owners: bool = True) -> LiveState:
        """The site's open conversations, every one of them, and its agents (a small site's
        whole state: the dashboard itself folds :meth:`open_pages` without holding them)."""
        convs: list[dict[str, str]] = []
        unowned: list[str] = []
        async for rows, lost in self.open_pages(site, owners):
            convs += rows
            unowned += lost
        return LiveState(convs, await self.live_agents(site), unowned)

    async def unowned(self, site: str, convs: list[dict[str, str]]) -> list[str]:
        """The ids among ``convs`` (rows just read) that neither an agent holds nor a queue
        holds: one membership check each (one script call for them all), then an atomic
        re-check of the few that look unowned, so a chat moving between the reads is not
        reported."""
        k = self.k
        found = await self.scripts.run("members_held", *holders(k, site, convs)) if convs else []
        suspects = [c for c, held in zip(convs, found, strict=True) if not held]
        unowned = []
        for c in suspects:
            cid, agent, dept = c.get("id", ""), c.get("agent", ""), c.get("department", "")
            keys = [
                k.conversation(site, cid),
                k.queue(site, dept),
                k.agent_conversations(site, agent or "-"),
            ]
            args = [cid, c.get("status", ""), agent, dept]
            if await self.scripts.run("unowned", keys, args):
                unowned.append(cid)
        return unowned

    async def _visitor_emails(self, site: str, visitor_ids: Sequence[str]) -> list[str]:
        return await self._hget_many([self.k.visitor(site, vid) for vid in visitor_ids], "email")
