"""Agents' sign-in security: the two-factor state (chatserver/lua/two_factor.lua), sessions as
the account page lists them, and sign-ins waiting for their second step.

All keys here are global, like the accounts and sessions they belong to.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import orjson

from chatserver.core.policy import REQUIRE_TWO_FACTOR
from chatserver.store.base import StoreBase, StoreError


@dataclass(frozen=True, slots=True)
class TwoFactor:
    """An agent's two-factor state: ``secret`` '' while off; ``pending`` a secret being set up."""

    secret: str
    last_step: int
    enabled_at: int
    recovery_left: int
    pending: str

    @property
    def enabled(self) -> bool:
        return bool(self.secret)


@dataclass(frozen=True, slots=True)
class SessionInfo:
    id: str  # the session's digest (chatserver.sessions.session_digest), never the token
    created: int
    seen: int
    ip: str
    user_agent: str


def _digest(token: str) -> str:
    # The same digest as chatserver.sessions.session_digest (which the bus carries).
    return hashlib.sha256(token.encode()).hexdigest()[:32]


class AccountSecurityStore(StoreBase):
    # --- two-factor -----------------------------------------------------------------------
    async def two_factor(self, agent_id: str) -> TwoFactor:
        data: dict[str, str] = await self.r.hgetall(self.k.two_factor(agent_id))
        return TwoFactor(
            secret=data.get("secret", ""),
            last_step=int(data.get("last_step") or -1),
            enabled_at=int(data.get("enabled_at") or 0),
            recovery_left=sum(1 for f in data if f.startswith("rc:")),
            pending=data.get("pending", ""),
        )

    async def site_setting(self, site: str, name: str) -> str:
        """One field of the site's settings ('' when unset), read fresh (not cached)."""
        value: str | None = await self.r.hget(self.k.site(site), name)
        return value or ""

    async def two_factor_enabled(self, agent_id: str) -> bool:
        return bool(await self.r.hexists(self.k.two_factor(agent_id), "secret"))

    async def _two_factor(self, agent_id: str, *args: str | int) -> list[object]:
        res: list[object] = await self.scripts.run(
            "two_factor", [self.k.two_factor(agent_id)], list(args)
        )
        if res[0] != "ok":
            raise StoreError(str(res[1]))
        return res

    async def two_factor_begin(self, agent_id: str, secret: str) -> None:
        """Hold ``secret`` until a first code confirms it. Raises StoreError('enabled')."""
        await self._two_factor(agent_id, "begin", secret)

    async def two_factor_enable(
        self, agent_id: str, secret: str, step: int, now: int, recovery_digests: list[str]
    ) -> None:
        """Turn two-factor on with the pending ``secret``, confirmed by a code of ``step``.

        Raises StoreError('enabled' | 'stale': another setup replaced the secret)."""
        await self._two_factor(agent_id, "enable", secret, step, now, *recovery_digests)

    async def two_factor_use_code(
        self, agent_id: str, secret: str, step: int, disable: bool = False
    ) -> None:
        """Spend the code of ``step`` (and turn two-factor off with ``disable``).

        Raises StoreError('replayed': that step or a later one was used | 'stale')."""
        await self._two_factor(agent_id, "code", secret, step, "1" if disable else "0")

    async def two_factor_use_recovery(
        self, agent_id: str, digest: str, disable: bool = False
    ) -> int:
        """Spend a recovery code; returns how many are left. Raises StoreError('invalid')."""
        res = await self._two_factor(agent_id, "recovery", digest, "1" if disable else "0")
        return int(str(res[1]))

    async def two_factor_reset(self, agent_id: str) -> bool:
        """Turn two-factor off (an admin's reset); True if it was on."""
        return bool(await self.r.delete(self.k.two_factor(agent_id)))

    # --- sessions -------------------------------------------------------------------------
    async def start_session(
        self, token: str, agent_id: str, ttl: int, now: int, ip: str, user_agent: str
    ) -> None:
        """A new login session, and what the account page shows of it."""
        digest = _digest(token)
        meta = orjson.dumps({"created": now, "ip": ip, "ua": user_agent[:300]})
        pipe = self.r.pipeline(transaction=False)
        pipe.set(self.k.session(token), agent_id, ex=ttl)
        pipe.sadd(self.k.agent_sessions(agent_id), token)
        pipe.hset(self.k.session_meta(agent_id), mapping={digest: meta, f"{digest}:seen": now})
        await pipe.execute()

    async def session_seen(self, agent_id: str, token: str, now: int) -> dict[str, str] | None:
        """The session's account (None if gone), noting that the session was used now, in
        one round trip."""
        pipe = self.r.pipeline(transaction=False)
        pipe.hgetall(self.k.account(agent_id))
        pipe.hset(self.k.session_meta(agent_id), f"{_digest(token)}:seen", now)
        account, _ = await pipe.execute()
        return account or None

    async def must_set_up_two_factor(self, site: str, agent_id: str) -> bool:
        """Whether the site requires two-factor sign-in (of the agent's role: the caller
        checks the role) and the agent has not set it up, in one round trip."""
        pipe = self.r.pipeline(transaction=False)
        pipe.hget(self.k.site(site), REQUIRE_TWO_FACTOR)
        pipe.hexists(self.k.two_factor(agent_id), "secret")
        required, enabled = await pipe.execute()
        return required == "1" and not enabled

    async def list_sessions(self, agent_id: str) -> list[SessionInfo]:
        """The agent's live sessions, newest first; expired ones are forgotten on the way."""
        tokens = sorted(await self.r.smembers(self.k.agent_sessions(agent_id)))
        if not tokens:
            return []
        pipe = self.r.pipeline(transaction=False)
        for token in tokens:
            pipe.exists(self.k.session(token))
        pipe.hgetall(self.k.session_meta(agent_id))
        *alive, meta = await pipe.execute()
        dead = [t for t, ok in zip(tokens, alive, strict=True) if not ok]
        if dead:
            await self._forget_sessions(agent_id, dead)
        out = []
        for token, ok in zip(tokens, alive, strict=True):
            if not ok:
                continue
            digest = _digest(token)
            try:
                info = orjson.loads(meta.get(digest) or b"{}")
            except orjson.JSONDecodeError:
                info = {}
            out.append(
                SessionInfo(
                    id=digest,
                    created=int(info.get("created") or 0),
                    seen=int(meta.get(f"{digest}:seen") or 0),
                    ip=str(info.get("ip", "")),
                    user_agent=str(info.get("ua", "")),
                )
            )
        return sorted(out, key=lambda s: s.created, reverse=True)

    async def end_sessions(self, agent_id: str, keep: str | None = None) -> list[str]:
        """End every session of the agent but the one whose digest is ``keep``; returns the
        digests ended (the caller closes their sockets)."""
        tokens = [
            t for t in await self.r.smembers(self.k.agent_sessions(agent_id)) if _digest(t) != keep
        ]
        await self._forget_sessions(agent_id, tokens)
        return [_digest(t) for t in tokens]

    async def end_session(self, agent_id: str, digest: str) -> bool:
        """End the agent's session whose digest is ``digest``; False if it has none such."""
        tokens = [
            t
            for t in await self.r.smembers(self.k.agent_sessions(agent_id))
            if _digest(t) == digest
        ]
        await self._forget_sessions(agent_id, tokens)
        return bool(tokens)

    async def _forget_sessions(self, agent_id: str, tokens: list[str]) -> None:
        if not tokens:
            return
        pipe = self.r.pipeline(transaction=False)
        for token in tokens:
            digest = _digest(token)
            pipe.delete(self.k.session(token))
            pipe.srem(self.k.agent_sessions(agent_id), token)
            pipe.hdel(self.k.session_meta(agent_id), digest, f"{digest}:seen")
        await pipe.execute()

    # --- sign-ins waiting for their code --------------------------------------------------
    async def create_login_pending(self, token: str, record: dict[str, str], ttl: int) -> None:
        pipe = self.r.pipeline(transaction=True)
        pipe.hset(self.k.login_pending(token), mapping=record)
        pipe.expire(self.k.login_pending(token), ttl)
        await pipe.execute()

    async def login_pending(self, token: str) -> dict[str, str] | None:
        data: dict[str, str] = await self.r.hgetall(self.k.login_pending(token))
        return data or None

    async def login_pending_attempt(self, token: str) -> int:
        """Count one code tried against the pending sign-in; returns the count so far."""
        key = self.k.login_pending(token)
        pipe = self.r.pipeline(transaction=True)
        pipe.hincrby(key, "tries", 1)
        pipe.ttl(key)
        tries, ttl = await pipe.execute()
        if ttl < 0:  # it expired just before: the count made a key of its own, without TTL
            await self.r.delete(key)
        return int(tries)

    async def end_login_pending(self, token: str) -> bool:
        """Forget the pending sign-in; True if this call ended it (it is used once)."""
        return bool(await self.r.delete(self.k.login_pending(token)))
