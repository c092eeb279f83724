"""Sites and visitors."""

from __future__ import annotations

from collections.abc import Sequence

from chatserver.store.base import (
    StoreBase,
)


class SiteStore(StoreBase):
    # --- sites ----------------------------------------------------------------------------
    async def ensure_site(
        self, site: str, name: str | None = None, allowed_origins: str = "*"
    ) -> None:
        """Create the site if missing; an existing site keeps its settings."""
        key = self.k.site(site)
        await self.r.hsetnx(key, "name", name or site)
        await self.r.hsetnx(key, "allowed_origins", allowed_origins)
        await self.r.sadd(self.k.sites(), site)

    async def get_site(self, site: str) -> dict[str, str] | None:
        data: dict[str, str] = await self.r.hgetall(self.k.site(site))
        return data or None

    async def update_site(self, site: str, fields: dict[str, str]) -> None:
        await self.r.hset(self.k.site(site), mapping=fields)
        await self.r.sadd(self.k.sites(), site)

    async def list_sites(self) -> list[str]:
        return sorted(await self.r.smembers(self.k.sites()))

    # --- visitors -------------------------------------------------------------------------
    async def load_visitor(self, site: str, visitor_id: str) -> dict[str, str] | None:
        data: dict[str, str] = await self.r.hgetall(self.k.visitor(site, visitor_id))
        return data or None

    async def load_visitors(self, site: str, visitor_ids: Sequence[str]) -> list[dict[str, str]]:
        """One hash per id, in order ({} for an unknown visitor)."""
        return await self._hgetall_many([self.k.visitor(site, vid) for vid in visitor_ids])

    async def save_visitor(self, site: str, visitor_id: str, fields: dict[str, str]) -> None:
        await self.r.hset(self.k.visitor(site, visitor_id), mapping=fields)

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
