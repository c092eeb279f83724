"""API keys of every site (see chatserver.api_keys): one hash, one command per change."""

from __future__ import annotations

import orjson

from chatserver.api_keys import SCOPES, ApiKey, new_key
from chatserver.store.base import StoreBase
from chatserver.store.supervision import AUDIT_LENGTH

USED_EVERY_MS = 60_000  # "last used" is written at most once a minute per key


class ApiKeyStore(StoreBase):
    async def issue_api_key(
        self, site: str, name: str, scope: str, now: int, created_by: str
    ) -> tuple[str, str]:
        """Create a key; returns (its id, the full key), which is shown once and never again."""
        if scope not in SCOPES:
            raise ValueError(f"scope must be one of {', '.join(SCOPES)}")
        while True:
            key_id, token, key_digest = new_key()
            if await self.create_api_key(key_id, key_digest, site, name, scope, now, created_by):
                return key_id, token

    async def create_api_key(
        self,
        key_id: str,
        key_digest: str,
        site: str,
        name: str,
        scope: str,
        now: int,
        created_by: str,
    ) -> bool:
        """Store a new key; False when the id is taken (the caller draws another)."""
        record = {
            "site": site,
            "name": name,
            "scope": scope,
            "digest": key_digest,
            "created_at": now,
            "created_by": created_by,
        }
        return bool(await self.r.hsetnx(self.k.api_keys(), key_id, orjson.dumps(record)))

    async def api_key(self, key_id: str) -> tuple[ApiKey, str] | None:
        """The key and its stored digest, or None."""
        raw, revoked, used = await self.r.hmget(
            self.k.api_keys(), [key_id, f"{key_id}:revoked", f"{key_id}:used"]
        )
        if raw is None:
            return None
        return _key(key_id, raw, revoked, used)

    async def site_api_keys(self, site: str) -> list[ApiKey]:
        """The site's keys, newest first, revoked ones included."""
        data: dict[str, str] = await self.r.hgetall(self.k.api_keys())
        keys = []
        for field, raw in data.items():
            if ":" in field:
                continue
            key, _ = _key(field, raw, data.get(f"{field}:revoked"), data.get(f"{field}:used"))
            if key.site == site:
                keys.append(key)
        return sorted(keys, key=lambda k: k.created_at, reverse=True)

    async def revoke_api_key(self, key_id: str, now: int) -> None:
        # HSETNX: a second revoke keeps the first time.
        await self.r.hsetnx(self.k.api_keys(), f"{key_id}:revoked", now)

    async def api_key_used(self, key: ApiKey, now: int, detail: str = "") -> None:
        """Note the key's use: its "last used" time and an ``api_key_used`` entry in the
        site's audit log, each at most once a minute per key (this is every request's path)."""
        if now - key.last_used_at >= USED_EVERY_MS:
            await self.r.hset(self.k.api_keys(), f"{key.id}:used", now)
            await self.scripts.run(
                "api_key_audit",
                [self.k.api_key_audited(key.site, key.id), self.k.audit(key.site)],
                [now, USED_EVERY_MS, AUDIT_LENGTH, key.id, key.name[:200], detail[:500]],
            )


def _key(key_id: str, raw: str, revoked: str | None, used: str | None) -> tuple[ApiKey, str]:
    rec = orjson.loads(raw)
    key = ApiKey(
        id=key_id,
        site=str(rec.get("site", "")),
        name=str(rec.get("name", "")),
        scope=str(rec.get("scope", "read")),
        created_at=int(rec.get("created_at") or 0),
        created_by=str(rec.get("created_by", "")),
        revoked_at=int(revoked or 0),
        last_used_at=int(used or 0),
    )
    return key, str(rec.get("digest", ""))
