"""Verified identities: each site's identity secret, and the one visitor record of each
verified user (chatserver/identity.py checks the signatures; this stores what passed)."""

from __future__ import annotations

from chatserver.identity import Claim, new_secret
from chatserver.store.base import StoreBase, StoreError, new_id

# A concurrent first sign-in of the same user can move its mapping once between the read
# and the script; more than a few moves in a row means something else is wrong.
_LINK_TRIES = 4


class IdentityStore(StoreBase):
    async def identity_secret(self, site: str) -> tuple[str, int] | None:
        """The site's identity secret and when it was made (ms); None before it has one."""
        data: dict[str, str] = await self.r.hgetall(self.k.identity(site))
        if not data.get("secret"):
            return None
        return data["secret"], int(data.get("rotated_at") or 0)

    async def ensure_identity_secret(self, site: str, now: int) -> tuple[str, int]:
        """The site's identity secret, made now if it has none (one key, one transaction:
        two admins opening the page at once see the same secret)."""
        key = self.k.identity(site)
        pipe = self.r.pipeline(transaction=True)
        pipe.hsetnx(key, "secret", new_secret())
        pipe.hsetnx(key, "rotated_at", str(now))
        pipe.hgetall(key)
        data: dict[str, str] = (await pipe.execute())[-1]
        return data["secret"], int(data.get("rotated_at") or 0)

    async def rotate_identity_secret(self, site: str, now: int) -> str:
        """A new secret, at once: signatures made with the old one are refused from now on
        (visitors already verified stay so)."""
        secret = new_secret()
        await self.r.hset(self.k.identity(site), mapping={"secret": secret, "rotated_at": str(now)})
        return secret

    async def identity_lookup(self, site: str, user_id: str) -> tuple[str | None, str]:
        """The site's secret (None for none) and the visitor id the user has ('' for none),
        in one round trip."""
        pipe = self.r.pipeline(transaction=False)
        pipe.hget(self.k.identity(site), "secret")
        pipe.hget(self.k.verified_users(site), user_id)
        secret, visitor_id = await pipe.execute()
        return secret or None, visitor_id or ""

    async def link_identity(
        self, site: str, claim: Claim, visitor_id: str, seen: str, now: int
    ) -> tuple[str, str]:
        """Store a checked claim on its user's visitor record (see lua/identity_link.lua);
        ``seen`` is the user's visitor id as :meth:`identity_lookup` read it. Returns the
        visitor id to continue as and its open conversation ('' for none)."""
        for _ in range(_LINK_TRIES):
            spare = new_id("v")
            keys = [
                self.k.verified_users(site),
                self.k.visitor(site, visitor_id),
                self.k.visitor(site, seen or visitor_id),
                self.k.visitor(site, spare),
                *self.k.feed_keys(site),
                self.k.visitor_emails(site),
            ]
            args: list[str | int] = [
                claim.user_id,
                visitor_id,
                seen,
                spare,
                site,
                now,
                claim.name,
                claim.email,
            ]
            res = await self.scripts.run("identity_link", keys, args)
            if res[0] == "ok":
                return str(res[1]), str(res[2] or "")
            seen = str(res[1] or "")
        raise StoreError("unavailable", "the user's visitor record kept moving")
