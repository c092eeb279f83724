"""The audit log: one writer for every entry not written by a Lua script, and the search the
admin page, its CSV export and the REST API share (chatserver.core.audit decides matches).

A site's log is a capped stream (keys.audit, AUDIT_LENGTH entries); failed sign-ins with an
e-mail no account has go to one installation-wide stream capped much lower
(keys.audit_accounts), so guessing e-mails cannot grow anything without bound.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from chatserver.core.audit import AuditEntry, AuditQuery, clean_detail
from chatserver.store.base import StoreBase
from chatserver.store.supervision import AUDIT_LENGTH

ACCOUNT_AUDIT_LENGTH = 10_000
# A search reads the stream newest first in pages of this many entries, and stops after
# SCAN_LIMIT entries per request (the page says where to go on from).
_PAGE = 500
SCAN_LIMIT = 20_000


def _entry(entry_id: str, f: dict[str, str]) -> AuditEntry:
    return AuditEntry(
        entry_id,
        int(f.get("ts") or 0),
        f.get("actor", ""),
        f.get("name", ""),
        f.get("action", ""),
        f.get("conv", ""),
        f.get("detail", ""),
    )


class AuditStore(StoreBase):
    def _audit_key(self, site: str | None) -> str:
        """A site's stream, or (None) the stream of sign-ins to unknown accounts."""
        return self.k.audit_accounts() if site is None else self.k.audit(site)

    async def audit(
        self,
        site: str | None,
        action: str,
        actor_id: str,
        actor_name: str,
        now: int,
        detail: str = "",
        conv_id: str = "",
    ) -> str:
        """Append one entry (the same fields the Lua scripts write); returns its id.
        ``site`` None writes to the unknown-accounts stream."""
        cap = ACCOUNT_AUDIT_LENGTH if site is None else AUDIT_LENGTH
        entry_id: str = await self.r.xadd(
            self._audit_key(site),
            {
                "ts": now,
                "actor": actor_id,
                "name": clean_detail(actor_name)[:200],
                "action": action,
                "conv": conv_id,
                "detail": clean_detail(detail),
            },
            maxlen=cap,
            approximate=True,
        )
        return entry_id

    async def audit_log(
        self, site: str, before: str | None = None, count: int = 100
    ) -> list[AuditEntry]:
        """The site's audit log, newest first, strictly before the entry id ``before``."""
        top = f"({before}" if before else "+"
        entries = await self.r.xrevrange(self.k.audit(site), max=top, min="-", count=count)
        return [_entry(entry_id, f) for entry_id, f in entries]

    async def audit_search(
        self,
        site: str | None,
        query: AuditQuery,
        before: str | None = None,
        count: int = 100,
        scan_limit: int = SCAN_LIMIT,
    ) -> tuple[list[AuditEntry], str | None]:
        """Up to ``count`` matching entries, newest first, strictly before the entry id
        ``before``; and the cursor to continue from (None when the stream is exhausted).

        The date range bounds the stream read itself (ids are times); the other filters are
        checked entry by entry, at most ``scan_limit`` entries per call, so a filter that
        matches nothing still answers quickly (with a cursor to look further)."""
        found: list[AuditEntry] = []
        scanned = 0
        cursor = before
        async for entry in self._audit_entries(site, query, before):
            scanned += 1
            cursor = entry.id
            if query.matches(entry):
                found.append(entry)
                if len(found) == count:
                    return found, entry.id
            if scanned >= scan_limit:
                return found, cursor
        return found, None

    async def audit_export(self, site: str | None, query: AuditQuery) -> AsyncIterator[AuditEntry]:
        """Every matching entry, newest first (the CSV export; the stream is capped)."""
        async for entry in self._audit_entries(site, query, None):
            if query.matches(entry):
                yield entry

    async def _audit_entries(
        self, site: str | None, query: AuditQuery, before: str | None
    ) -> AsyncIterator[AuditEntry]:
        key = self._audit_key(site)
        low = str(query.since) if query.since else "-"
        top = (
            f"({before}"
            if before
            else (f"{query.until}-18446744073709551615" if query.until else "+")
        )
        while True:
            rows = await self.r.xrevrange(key, max=top, min=low, count=_PAGE)
            for entry_id, fields in rows:
                yield _entry(entry_id, fields)
            if len(rows) < _PAGE:
                return
            top = f"({rows[-1][0]}"
