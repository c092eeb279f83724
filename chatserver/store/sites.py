"""Sites and visitors.

The set of sites is read every second by several loops of every node (timers, sweeper,
mail, webhooks, retention, the dashboards' rollups). Each process keeps one copy of it
(:class:`chatserver.core.paging.VersionedCache`) and, at most once a second whichever loop
asks, checks it with one round trip for two O(1) values: the set's version, which
``lua/site_add.lua`` bumps in the same step as it adds a site, and its size, which also
catches a site added behind the store's back (a direct SADD). So a new site is seen by
every node within :data:`SITES_CHECK_MS` (plus the loop's own interval), and the set itself
is read again only when it changed, or every :data:`SITES_MAX_AGE_MS` at the latest.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from chatserver.core.paging import VersionedCache
from chatserver.core.visits import PAGES_KEPT, page_entry, visitor_context
from chatserver.store.base import (
    StoreBase,
)

SITES_CHECK_MS = 1000
SITES_MAX_AGE_MS = 30_000


def _monotonic_ms() -> int:
    return int(time.monotonic() * 1000)


class SiteStore(StoreBase):
    _sites_cache: VersionedCache | None = None

    # --- sites ----------------------------------------------------------------------------
    async def ensure_site(
        self, site: str, name: str | None = None, allowed_origins: str = "*"
    ) -> None:
        """Create the site if missing; an existing site keeps its settings."""
        key = self.k.site(site)
        await self.r.hsetnx(key, "name", name or site)
        await self.r.hsetnx(key, "allowed_origins", allowed_origins)
        await self.add_to_sites(site)

    async def get_site(self, site: str) -> dict[str, str] | None:
        data: dict[str, str] = await self.r.hgetall(self.k.site(site))
        return data or None

    async def update_site(self, site: str, fields: dict[str, str]) -> None:
        await self.r.hset(self.k.site(site), mapping=fields)
        await self.add_to_sites(site)

    async def add_to_sites(self, site: str) -> bool:
        """Add ``site`` to the set of sites (bumping its version); True if it was new."""
        added = bool(
            await self.scripts.run("site_add", [self.k.sites(), self.k.sites_version()], [site])
        )
        if added and self._sites_cache is not None:
            self._sites_cache.invalidate()  # this node sees it at once
        return added

    async def list_sites(self, now_ms: int | None = None, fresh: bool = False) -> list[str]:
        """Every site, sorted: this process's copy, checked at most once a second by the
        loops; with ``fresh`` (a request: /metrics, the admin pages) checked now, so a site
        another process just added is listed (one round trip, the set read only if it
        changed)."""
        now = _monotonic_ms() if now_ms is None else now_ms
        cache = self._sites_cache
        if cache is None:
            cache = self._sites_cache = VersionedCache(SITES_CHECK_MS, SITES_MAX_AGE_MS)
        if not fresh and cache.fresh(now) and cache.members is not None:
            return list(cache.members)
        pipe = self.r.pipeline(transaction=False)
        pipe.get(self.k.sites_version())
        pipe.scard(self.k.sites())
        version, size = await pipe.execute()
        token = f"{version or 0}:{size}"
        if cache.still_valid(token, now) and cache.members is not None:
            return list(cache.members)
        pipe = self.r.pipeline(transaction=False)
        pipe.get(self.k.sites_version())
        pipe.smembers(self.k.sites())
        version, members = await pipe.execute()
        # The token of what was read: a change between the two reads shows at the next check.
        return list(cache.load(members, f"{version or 0}:{len(members)}", now))

    # --- visitors -------------------------------------------------------------------------
    async def load_visitor(self, site: str, visitor_id: str) -> dict[str, str] | None:
        data: dict[str, str] = await self.r.hgetall(self.k.visitor(site, visitor_id))
        return data or None

    async def load_visitors(self, site: str, visitor_ids: Sequence[str]) -> list[dict[str, str]]:
        """One hash per id, in order ({} for an unknown visitor)."""
        return await self._hgetall_many([self.k.visitor(site, vid) for vid in visitor_ids])

    async def save_visitor(self, site: str, visitor_id: str, fields: dict[str, str]) -> None:
        await self.r.hset(self.k.visitor(site, visitor_id), mapping=fields)

    async def visitor_page(
        self,
        site: str,
        visitor_id: str,
        now: int,
        keep_ms: int,
        page: tuple[str, str] = ("", ""),
        fields: dict[str, str] | None = None,
    ) -> bool:
        """A page view of the visitor's current visit (``page``: url, title), stored with
        ``fields`` on their record; with url '' only their activity (a socket closed: the next
        hello measures the visit gap from now). The pages list expires ``keep_ms`` after its
        last page (0: never). False when the record is gone (nothing is written then)."""
        url, title = page
        args: list[str | int] = [now, keep_ms, PAGES_KEPT, url, page_entry(url, title, now)]
        for name, value in (fields or {}).items():
            args += [name, value]
        k = self.k
        res = await self.scripts.run(
            "visitor_pages", [k.visitor(site, visitor_id), k.visitor_pages(site, visitor_id)], args
        )
        return bool(res)

    async def visitor_context(
        self, site: str, visitor_ids: Sequence[str], now: int
    ) -> list[dict[str, Any]]:
        """For each visitor, in order, what the agent sees beside the record (one round trip):
        ``online`` (a socket open on some node), ``left_at`` and this visit's ``pages``
        (chatserver/core/visits.py)."""
        if not visitor_ids:
            return []
        k = self.k
        pipe = self.r.pipeline(transaction=False)
        for vid in visitor_ids:
            pipe.lrange(k.visitor_pages(site, vid), 0, -1)
            pipe.hgetall(k.visitor_presence(site, vid))
            pipe.hmget(k.visitor(site, vid), ["last_active", "last_seen"])
        res = await pipe.execute()
        out: list[dict[str, Any]] = []
        for i in range(len(visitor_ids)):
            pages, presence, (last_active, last_seen) = res[i * 3 : i * 3 + 3]
            record = {"last_active": last_active or "", "last_seen": last_seen or ""}
            out.append(visitor_context(pages, presence, record, now))
        return out

    async def update_visitor(
        self, site: str, visitor_id: str, fields: dict[str, str], now: int
    ) -> str:
        """Store a visitor's name or e-mail (and record it in the feed); returns the id of
        their open conversation ('' for none)."""
        args: list[str | int] = [visitor_id, now]
        for name, value in fields.items():
            args += [name, value]
        res = await self.scripts.run(
            "visitor_update",
            [
                self.k.visitor(site, visitor_id),
                *self.k.feed_keys(site),
                self.k.visitor_emails(site),
                self.k.timers(site),
            ],
            args,
        )
        return str(res or "")
