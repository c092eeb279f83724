"""Shared pieces of the store: the client, key names, scripts, errors and value types."""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from typing import Any, Self

import redis.asyncio as aioredis

from chatserver import events
from chatserver.core.states import Event, Status, transition
from chatserver.keys import Keys
from chatserver.messages import SendResult, Stored
from chatserver.redis_clients import is_cluster, redis_client
from chatserver.scripts import ScriptRunner


def _transition_map(event: Event) -> str:
    """Serialise one event's row of the state table for the scripts (see lua/_lib.lua)."""
    pairs = []
    for status in Status:
        try:
            pairs.append(f"{status.value}={transition(status, event).value}")
        except ValueError:
            continue
    return ";".join(pairs)


MAPS = {event: _transition_map(event) for event in Event}


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(12)}"


def now_ms() -> int:
    return int(time.time() * 1000)


class StoreError(Exception):
    """A script refused the step; ``code`` is the protocol error code to show the client."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


class StoreBase:
    """The Redis client, key names and script runner every part of the store uses."""

    def __init__(self, client: aioredis.Redis, keys: Keys | None = None) -> None:
        # redis-py types replies as bytes | str whatever decode_responses says; this client
        # always decodes, so the store treats replies as str and checks shapes itself.
        self.r: Any = client
        self.k = keys or Keys()
        self.scripts = ScriptRunner(client)

    @classmethod
    def from_url(cls, url: str, prefix: str = "cs", max_connections: int = 64) -> Self:
        """The store of the Redis (Sentinel group, cluster) ``url`` names; pipelining keeps the
        connections each caller needs at one."""
        return cls(redis_client(url, max_connections=max_connections), Keys(prefix))

    async def close(self) -> None:
        if is_cluster(self.r):
            await self.r.aclose()  # a cluster client's nodes are its own: it closes them all
            return
        await self.r.aclose(close_connection_pool=True)

    async def ping(self) -> bool:
        return bool(await self.r.ping())

    async def writable(self) -> bool:
        """Whether this client reaches a primary: a replica (a demoted primary) takes no
        writes, so a node connected to one is not ready. On a cluster: every primary the
        client's slot map names still is one (a primary it cannot reach raises)."""
        if is_cluster(self.r):
            # Reload the slot map first if the last error asked for it (a failover): the
            # primaries named below must be today's, not the dead one's.
            await self.r.initialize()
            roles = await self.r.execute_command("ROLE", target_nodes=self.r.get_primaries())
            return bool(roles) and all(r and r[0] == "master" for r in roles.values())
        role = await self.r.execute_command("ROLE")
        return bool(role) and role[0] == "master"

    async def _hget_many(self, keys: Sequence[str], field: str) -> list[str]:
        """One field of each hash, in order ('' where missing), in one round trip."""
        if not keys:
            return []
        pipe = self.r.pipeline(transaction=False)
        for key in keys:
            pipe.hget(key, field)
        return [v or "" for v in await pipe.execute()]

    async def _hgetall_many(self, keys: Sequence[str]) -> list[dict[str, str]]:
        if not keys:
            return []
        pipe = self.r.pipeline(transaction=False)
        for key in keys:
            pipe.hgetall(key)
        results: list[dict[str, str]] = await pipe.execute()
        return results

    # --- doorbell -------------------------------------------------------------------------
    async def publish(self, site: str, event: events.Event) -> None:
        await self.r.publish(self.k.channel(site), events.encode(event))


def receipt(res: list[Any], now: int) -> SendResult:
    """The receipt of a script that stores one entry once per client id: ``{'ok', id, …}``
    (stored now), ``{'dup', 'id ts'}`` (stored before, at ts), else its refusal as
    StoreError."""
    if res[0] == "ok":
        return SendResult(str(res[1]), now, False)
    if res[0] == "dup":
        stored_id, _, ts = str(res[1]).partition(" ")
        return SendResult(stored_id, int(ts or 0), True)
    raise StoreError(str(res[1]), str(res[2]) if len(res) > 2 else "")


def _stored(entry_id: str, f: dict[str, str]) -> Stored:
    return Stored(
        id=entry_id,
        kind=f.get("k", ""),
        sender_id=f.get("s", ""),
        sender_name=f.get("n", ""),
        client_id=f.get("c", ""),
        text=f.get("t", ""),
        ts=int(f.get("ts") or 0),
        event=f.get("e", ""),
        file=f.get("f", ""),
    )
