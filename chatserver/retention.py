"""The retention job: deletes what a site keeps no longer, a little at a time.

Every node runs it once a minute; a lease per site lets one node work while the others skip
(the deletions are re-checked in their scripts, so two nodes overlapping only repeat work).
Each pass over a site:

1. finishes the one-time backfill: conversations that ended before the ``ended`` index
   existed are listed in it, a page of the conversation index per pass;
2. deletes the ended conversations older than the site's ``retention_days`` (at most
   ``BATCH`` × ``MAX_BATCHES`` per pass, oldest first), and with the last one of a visitor,
   the visitor's record once they have not been seen for as long;
3. drops entries of the verified-users map and the e-mail index whose visitor record has
   expired (records with no conversation expire by themselves: see visitor_seen.lua).

Nothing here scans the keyspace: every read is a range of one of the site's own indexes, so
it works the same on a Redis Cluster (a site is one slot).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from chatserver.core.retention import cutoff_ms, retention_days, retention_ms
from chatserver.log import get_logger
from chatserver.store import Store

log = get_logger(__name__)

BATCH = 200
MAX_BATCHES = 5
LEASE_MS = 120_000
PRUNE_COUNT = 200


@dataclass
class RetentionReport:
    conversations: int = 0  # deleted
    visitors: int = 0  # visitor records deleted with their last conversation
    backfilled: int = 0  # older ended conversations newly listed
    pruned: int = 0  # index entries of expired visitors dropped
    skipped: list[str] = field(default_factory=list)  # sites another node had


class Retention:
    def __init__(
        self,
        store: Store,
        site_config: Callable[[str], Awaitable[Mapping[str, str] | None]],
        clock: Callable[[], int],
        node: str,
    ) -> None:
        self.store = store
        self.site_config = site_config
        self.clock = clock
        self.node = node
        self._prune_cursors: dict[tuple[str, str], int] = {}
        # Deletes a deleted conversation's files (chatserver/files/; set by the app).
        self.forget_files: Callable[[str, str], Awaitable[int]] | None = None

    async def tick(self) -> RetentionReport:
        report = RetentionReport()
        for site in await self.store.list_sites():
            if not await self.store.retention_lease(site, self.node, LEASE_MS):
                report.skipped.append(site)
                continue
            await self.run_site(site, self.clock(), report)
        if report.conversations or report.visitors or report.pruned:
            log.info(
                "retention_deleted",
                conversations=report.conversations,
                visitors=report.visitors,
                index_entries=report.pruned,
            )
        return report

    async def run_site(
        self, site: str, now: int, report: RetentionReport | None = None
    ) -> RetentionReport:
        """One pass over one site at ``now`` (the tests pass their own clock)."""
        report = report or RetentionReport()
        store = self.store
        backfill = await store.backfill_ended(site, now, BATCH)
        report.backfilled += backfill.listed
        days = retention_days(await self.site_config(site))
        cutoff = cutoff_ms(now, days)
        if cutoff is None:
            return report
        keep = retention_ms(days)
        deleted = visitors = 0
        for _ in range(MAX_BATCHES):
            due = await store.ended_before(site, cutoff, BATCH)
            for conv_id in due:
                outcome, visitor_gone = await store.delete_ended(site, conv_id, cutoff, now, keep)
                deleted += outcome == "deleted"
                if outcome == "deleted" and self.forget_files is not None:
                    await self.forget_files(site, conv_id)
                visitors += visitor_gone
            if len(due) < BATCH:
                break
        await store.count_retention(site, deleted, visitors)
        report.conversations += deleted
        report.visitors += visitors
        for which in ("users", "emails"):
            cursor = self._prune_cursors.get((site, which), 0)
            cursor, dropped = await store.prune_index(site, which, cursor, PRUNE_COUNT)
            self._prune_cursors[(site, which)] = cursor
            report.pruned += dropped
        return report
