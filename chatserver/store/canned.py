"""Canned responses: the site's shared set (texts, their files, usage counts) and each
agent's personal set (texts and usage counts, no files).

Shortcuts arrive in their canonical form (chatserver.core.canned.shortcut_key); the store
does not check them again. An agent's personal set is kept per account, so it follows the
agent to another site and stays while the account is deactivated (reactivated, they find it
again); deleting an account is to drop it (:meth:`CannedStore.drop_personal_canned`).
"""

from __future__ import annotations

from typing import Any

import orjson

from chatserver.store.base import StoreBase


def _counts(raw: dict[str, str]) -> dict[str, int]:
    return {k: int(v) for k, v in raw.items()}


class CannedStore(StoreBase):
    # --- the site's shared set -------------------------------------------------------------
    async def canned_responses(self, site: str) -> dict[str, str]:
        """shortcut -> text, sorted by shortcut."""
        data: dict[str, str] = await self.r.hgetall(self.k.canned(site))
        return dict(sorted(data.items()))

    async def canned_files(self, site: str) -> dict[str, dict[str, Any]]:
        """shortcut -> metadata of the file the canned response sends (only those with one)."""
        data: dict[str, str] = await self.r.hgetall(self.k.canned_files(site))
        return {k: orjson.loads(v) for k, v in data.items()}

    async def canned_file(self, site: str, shortcut: str) -> dict[str, Any] | None:
        raw: str | None = await self.r.hget(self.k.canned_files(site), shortcut)
        return orjson.loads(raw) if raw else None

    async def canned_uses(self, site: str) -> dict[str, int]:
        """shortcut -> how often agents inserted it (only those inserted at least once)."""
        return _counts(await self.r.hgetall(self.k.canned_uses(site)))

    async def save_canned(
        self, site: str, shortcut: str, text: str, file: str = "keep", meta: str = ""
    ) -> dict[str, Any] | None:
        """Save the text ('' leaves it) and ``file``: 'keep' the file it has, 'set' it to
        ``meta`` (JSON), or 'remove' it. Returns the metadata of a file no longer used
        (replaced, removed, or ``meta`` itself when there was no such canned response):
        the caller deletes its bytes."""
        keys = [self.k.canned(site), self.k.canned_files(site)]
        old: str = await self.scripts.run("canned_save", keys, [shortcut, text, file, meta])
        return orjson.loads(old) if old else None

    async def delete_canned(self, site: str, shortcut: str) -> dict[str, Any] | None:
        """Delete the text, file record and usage count; returns the file's metadata, if it
        had one."""
        k = self.k
        keys = [k.canned(site), k.canned_files(site), k.canned_uses(site)]
        old: str = await self.scripts.run("canned_delete", keys, [shortcut])
        return orjson.loads(old) if old else None

    # --- an agent's personal set -----------------------------------------------------------
    async def personal_canned(self, agent_id: str) -> dict[str, str]:
        """The agent's own canned responses, shortcut -> text, sorted by shortcut."""
        data: dict[str, str] = await self.r.hgetall(self.k.personal_canned(agent_id))
        return dict(sorted(data.items()))

    async def personal_canned_uses(self, agent_id: str) -> dict[str, int]:
        return _counts(await self.r.hgetall(self.k.personal_canned_uses(agent_id)))

    async def save_personal_canned(
        self, agent_id: str, shortcut: str, text: str, limit: int
    ) -> str:
        """Create or replace one; 'created', 'updated', or 'limit' when it would be a new
        entry beyond ``limit`` (then nothing is saved)."""
        key = self.k.personal_canned(agent_id)
        result: str = await self.scripts.run("canned_personal_save", [key], [shortcut, text, limit])
        return result

    async def delete_personal_canned(self, agent_id: str, shortcut: str) -> bool:
        """Delete one and its usage count; False when there was none."""
        k = self.k
        keys = [k.personal_canned(agent_id), k.personal_canned_uses(agent_id)]
        return bool(await self.scripts.run("canned_personal_delete", keys, [shortcut]))

    async def drop_personal_canned(self, agent_id: str) -> None:
        """Delete the agent's whole personal set and its counts: for deleting the account
        (deactivating keeps them). One command: both keys share a hash tag."""
        k = self.k
        await self.r.delete(k.personal_canned(agent_id), k.personal_canned_uses(agent_id))

    # --- usage -----------------------------------------------------------------------------
    async def count_canned_use(
        self, site: str, agent_id: str, personal: bool, shortcut: str
    ) -> int | None:
        """Count one insertion of the shared entry (``personal`` False) or of the agent's
        own; returns the new count, None when there is no such entry."""
        k = self.k
        if personal:
            keys = [k.personal_canned(agent_id), k.personal_canned_uses(agent_id)]
        else:
            keys = [k.canned(site), k.canned_uses(site)]
        count = int(await self.scripts.run("canned_use", keys, [shortcut]))
        return None if count < 0 else count
