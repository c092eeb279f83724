"""The reads behind the CSV exports (chatserver/core/exports.py builds the rows).

A conversation export walks the site's conversation index (created_at order) a page at a
time between two times, with the cursor rules of :mod:`chatserver.core.paging`, so
conversations created meanwhile never shift the walk; each page is one script call for the
hashes and one pipelined round trip for the visitors' e-mails and the streams' lengths.
Nothing but the page is held, whatever the size of the site.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

from chatserver.core.exports import CONVERSATION_FIELDS
from chatserver.core.paging import Cursor, Entry, last_cursor
from chatserver.store.dashboard import DashboardStore
from chatserver.store.paged import zpage

EXPORT_PAGE = 500


@dataclass(frozen=True, slots=True)
class ExportItem:
    conv: dict[str, str]
    email: str
    messages: int  # entries of the conversation's stream (system lines and notes included)


class ExportStore(DashboardStore):
    async def _index_page(
        self, site: str, end: int, cursor: Cursor | None, page: int
    ) -> list[Entry]:
        """Up to ``page`` entries of the conversation index after ``cursor``, created before
        ``end`` (ms), in order."""
        return await zpage(self.r, self.k.conversation_index(site), cursor, page, f"({end}")

    async def conversations_between(
        self, site: str, start: int, end: int, page: int = EXPORT_PAGE
    ) -> AsyncIterator[list[str]]:
        """The ids of the conversations created in ``[start, end)``, oldest first, a page at
        a time."""
        first: Cursor | None = (start - 1, "\U0010ffff") if start > 0 else None
        cursor = first
        while True:
            entries = await self._index_page(site, end, cursor, page)
            if entries:
                yield [cid for cid, _ in entries]
            if len(entries) < page:
                return
            cursor = last_cursor(entries)

    async def export_items(
        self, site: str, conv_ids: Sequence[str], keep: Callable[[dict[str, str]], bool]
    ) -> list[ExportItem]:
        """What an export row shows of each of ``conv_ids`` that still exists and that
        ``keep`` keeps (the filter runs before the second round trip)."""
        rows = [r for r in await self._conv_rows(site, conv_ids, CONVERSATION_FIELDS) if keep(r)]
        if not rows:
            return []
        pipe = self.r.pipeline(transaction=False)
        for row in rows:
            pipe.hget(self.k.visitor(site, row.get("visitor", "") or "-"), "email")
            pipe.xlen(self.k.messages(site, row.get("id", "")))
        res = await pipe.execute()
        return [
            ExportItem(row, res[2 * i] or "", int(res[2 * i + 1] or 0))
            for i, row in enumerate(rows)
        ]
