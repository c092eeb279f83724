"""The Redis store: the only module that talks to Redis.

Single-key reads and writes are plain commands; every step that touches several keys is one
Lua script (see `chatserver/lua/`). Key names come from :mod:`chatserver.keys`.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import msgpack
import redis.asyncio as aioredis

from chatserver.core.routing import AgentSnapshot, queue_score
from chatserver.core.states import Event, Status, transition
from chatserver.keys import Keys
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


@dataclass(frozen=True, slots=True)
class Stored:
    """A message as it lies in a conversation's stream."""

    id: str
    kind: str  # visitor | agent | system
    sender_id: str
    sender_name: str
    client_id: str
    text: str
    ts: int
    event: str = ""


@dataclass(frozen=True, slots=True)
class SendResult:
    id: str
    ts: int
    duplicate: bool
    response_ms: int | None = None


class Store:
    def __init__(self, client: aioredis.Redis, keys: Keys | None = None) -> None:
        # redis-py types replies as bytes | str whatever decode_responses says; this client
        # always decodes, so the store treats replies as str and checks shapes itself.
        self.r: Any = client
        self.k = keys or Keys()
        self.scripts = ScriptRunner(client)

    @classmethod
    def from_url(cls, url: str, prefix: str = "cs", max_connections: int = 64) -> Store:
        # A blocking pool makes a burst of callers wait for a free connection instead of
        # failing; pipelining keeps the number each caller needs at one.
        pool = aioredis.BlockingConnectionPool.from_url(
            url,
            decode_responses=True,
            max_connections=max_connections,
            timeout=10,
            health_check_interval=15,
            socket_connect_timeout=5,
            socket_timeout=10,
        )
        return cls(aioredis.Redis(connection_pool=pool), Keys(prefix))

    async def close(self) -> None:
        await self.r.aclose(close_connection_pool=True)

    async def ping(self) -> bool:
        return bool(await self.r.ping())

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

    # --- conversations --------------------------------------------------------------------
    async def open_conversation(
        self,
        site: str,
        visitor_id: str,
        now: int,
        department: str = "",
        priority: int = 0,
        visitor_name: str = "",
    ) -> tuple[bool, str]:
        """Open and queue a conversation; returns (created, conversation id).

        If the visitor already has an open conversation (another tab opened it), returns
        (False, that id) and creates nothing.
        """
        conv_id = new_id("c")
        k = self.k
        res = await self.scripts.run(
            "open",
            [
                k.visitor(site, visitor_id),
                k.conversation(site, conv_id),
                k.queue(site, department),
                k.open_conversations(site),
                k.departments(site),
                k.visitor_conversations(site, visitor_id),
            ],
            [
                conv_id,
                visitor_id,
                site,
                department,
                now,
                queue_score(priority, now),
                k.channel(site),
                priority,
                visitor_name,
            ],
        )
        return res[0] == "ok", str(res[1])

    async def send_message(
        self,
        site: str,
        conv_id: str,
        kind: str,
        sender_id: str,
        sender_name: str,
        client_id: str,
        text: str,
        now: int,
    ) -> SendResult:
        """Store a message once (idempotent on client_id) and publish it.

        Raises StoreError('not_found' | 'forbidden' | 'closed').
        """
        event = Event.VISITOR_MESSAGE if kind == "visitor" else Event.AGENT_MESSAGE
        k = self.k
        res = await self.scripts.run(
            "send",
            [k.conversation(site, conv_id), k.messages(site, conv_id), k.client_ids(site, conv_id)],
            [
                kind,
                sender_id,
                sender_name,
                client_id,
                text,
                now,
                k.channel(site),
                conv_id,
                MAPS[event],
                text[:140],
            ],
        )
        tag = res[0]
        if tag == "ok":
            return SendResult(str(res[1]), now, False, int(res[3]) if res[3] else None)
        if tag == "dup":
            stored_id, _, ts = str(res[1]).partition(" ")
            return SendResult(stored_id, int(ts or 0), True)
        raise StoreError(str(res[1]), str(res[2]) if len(res) > 2 else "")

    async def read_messages(
        self, site: str, conv_id: str, after: str | None, count: int = 1000
    ) -> list[Stored]:
        """Messages strictly after ``after`` (all with None), oldest first, up to ``count``."""
        start = f"({after}" if after and after != "0-0" else "-"
        entries = await self.r.xrange(
            self.k.messages(site, conv_id), min=start, max="+", count=count
        )
        return [_stored(entry_id, fields) for entry_id, fields in entries]

    async def get_conversation(self, site: str, conv_id: str) -> dict[str, str] | None:
        data: dict[str, str] = await self.r.hgetall(self.k.conversation(site, conv_id))
        return data or None

    async def get_conversations(self, site: str, conv_ids: Sequence[str]) -> list[dict[str, str]]:
        """The conversations that exist among ``conv_ids``, in order."""
        keys = [self.k.conversation(site, cid) for cid in conv_ids]
        return [conv for conv in await self._hgetall_many(keys) if conv]

    async def _hgetall_many(self, keys: Sequence[str]) -> list[dict[str, str]]:
        if not keys:
            return []
        pipe = self.r.pipeline(transaction=False)
        for key in keys:
            pipe.hgetall(key)
        results: list[dict[str, str]] = await pipe.execute()
        return results

    async def claim(
        self,
        site: str,
        conv_id: str,
        candidates: Sequence[str],
        now: int,
        manual: bool = False,
        department: str | None = None,
    ) -> str:
        """Assign to the first candidate that qualifies at this instant; returns its id.

        Pass ``department`` when known (the router read it with the queue) to save a round
        trip. Raises StoreError('not_found' | 'conflict' | 'capacity' | 'none').
        """
        k = self.k
        if department is None:
            department = await self.r.hget(k.conversation(site, conv_id), "department") or ""
        keys = [k.conversation(site, conv_id), k.queue(site, department), k.messages(site, conv_id)]
        for agent_id in candidates:
            keys += [
                k.agent_state(site, agent_id),
                k.presence(site, agent_id),
                k.agent_conversations(site, agent_id),
            ]
        res = await self.scripts.run(
            "claim",
            keys,
            [
                conv_id,
                now,
                k.channel(site),
                "1" if manual else "0",
                MAPS[Event.ASSIGN],
                len(candidates),
                *candidates,
            ],
        )
        if res[0] == "ok":
            return str(res[1])
        raise StoreError(str(res[1]), str(res[2]) if len(res) > 2 else "")

    async def resolve(
        self, site: str, conv_id: str, kind: str, by_id: str, by_name: str, now: int
    ) -> str:
        """Resolve; returns the id of the 'resolved' system message.

        Raises StoreError('not_found' | 'forbidden' | 'closed').
        """
        k = self.k
        for _ in range(3):
            conv = await self.r.hmget(
                k.conversation(site, conv_id), ["agent", "visitor", "department"]
            )
            agent, visitor, dept = (v or "" for v in conv)
            res = await self.scripts.run(
                "resolve",
                [
                    k.conversation(site, conv_id),
                    k.messages(site, conv_id),
                    k.queue(site, dept),
                    k.open_conversations(site),
                    k.visitor(site, visitor),
                    k.agent_conversations(site, agent),
                ],
                [conv_id, now, k.channel(site), kind, by_id, by_name, MAPS[Event.RESOLVE], agent],
            )
            if res[0] == "ok":
                return str(res[1])
            if res[0] != "retry":
                raise StoreError(str(res[1]), str(res[2]) if len(res) > 2 else "")
        raise StoreError("conflict", "the conversation kept changing hands")

    async def departments(self, site: str) -> list[str]:
        return sorted(await self.r.smembers(self.k.departments(site)))

    async def queue_entries(self, site: str, limit: int = 200) -> list[tuple[str, str, float]]:
        """(conversation id, department, score) of queued conversations, best first."""
        depts = await self.departments(site)
        if not depts:
            return []
        pipe = self.r.pipeline(transaction=False)
        for dept in depts:
            pipe.zrange(self.k.queue(site, dept), 0, limit - 1, withscores=True)
        results = await pipe.execute()
        merged = [
            (cid, dept, float(score))
            for dept, entries in zip(depts, results, strict=True)
            for cid, score in entries
        ]
        merged.sort(key=lambda e: e[2])
        return merged[:limit]

    async def queue_ranks(self, site: str, items: Sequence[tuple[str, str]]) -> list[int | None]:
        """0-based rank of each (conversation id, department) in its queue; None if absent."""
        if not items:
            return []
        pipe = self.r.pipeline(transaction=False)
        for cid, dept in items:
            pipe.zrank(self.k.queue(site, dept), cid)
        ranks: list[int | None] = await pipe.execute()
        return ranks

    # --- agents ---------------------------------------------------------------------------
    async def set_agent_status(
        self,
        site: str,
        agent_id: str,
        name: str,
        capacity: int,
        status: str,
        ttl: int,
        departments: Iterable[str] = (),
        announce: bool = True,
    ) -> None:
        """Record the agent's state and presence; ``announce`` rings the doorbell (routing).

        The heartbeat calls this with ``announce=False`` for every connected agent, so the
        state is re-asserted even if Redis restarted and lost its last writes.
        """
        k = self.k
        await self.scripts.run(
            "agent_status",
            [k.agent_state(site, agent_id), k.presence(site, agent_id), k.agents(site)],
            [
                agent_id,
                name,
                capacity,
                status,
                ttl,
                ",".join(departments),
                k.channel(site),
                "1" if announce else "0",
            ],
        )

    async def agent_snapshots(self, site: str) -> list[AgentSnapshot]:
        k = self.k
        agent_ids = sorted(await self.r.smembers(k.agents(site)))
        if not agent_ids:
            return []
        pipe = self.r.pipeline(transaction=False)
        for aid in agent_ids:
            pipe.hmget(
                k.agent_state(site, aid), ["status", "capacity", "last_assigned", "departments"]
            )
            pipe.scard(k.agent_conversations(site, aid))
            pipe.exists(k.presence(site, aid))
        res = await pipe.execute()
        out = []
        for i, aid in enumerate(agent_ids):
            (status, capacity, last, depts), load, present = res[i * 3 : i * 3 + 3]
            out.append(
                AgentSnapshot(
                    agent_id=aid,
                    status=status or "offline",
                    capacity=int(capacity or 0),
                    load=int(load),
                    last_assigned_at=int(last or 0),
                    present=bool(present),
                    departments=frozenset(d for d in (depts or "").split(",") if d),
                )
            )
        return out

    async def agent_state(self, site: str, agent_id: str) -> dict[str, str]:
        data: dict[str, str] = await self.r.hgetall(self.k.agent_state(site, agent_id))
        return data

    async def agent_conversation_ids(self, site: str, agent_id: str) -> list[str]:
        return sorted(await self.r.smembers(self.k.agent_conversations(site, agent_id)))

    # --- accounts and sessions ------------------------------------------------------------
    async def create_account(self, fields: dict[str, str]) -> str:
        """Create an agent account; raises StoreError('conflict') if the email is taken."""
        agent_id = fields.get("id") or new_id("a")
        email = fields["email"].lower()
        if not await self.r.hsetnx(self.k.accounts_by_email(), email, agent_id):
            raise StoreError("conflict", f"an agent with email {email} exists")
        await self.r.hset(
            self.k.account(agent_id),
            mapping={**fields, "id": agent_id, "email": email},
        )
        return agent_id

    async def create_agent(
        self,
        email: str,
        name: str,
        password_hash: str,
        *,
        site: str,
        role: str = "agent",
        capacity: int = 3,
        departments: Iterable[str] = (),
    ) -> str:
        """Create an active agent account of ``site`` (creating the site if new); returns its id.

        ``password_hash`` comes from :func:`chatserver.auth.hash_password`. Raises
        StoreError('conflict') if the email is taken.
        """
        await self.ensure_site(site)
        return await self.create_account(
            {
                "email": email,
                "name": name,
                "role": role,
                "site": site,
                "capacity": str(capacity),
                "departments": ",".join(departments),
                "active": "1",
                "password_hash": password_hash,
            }
        )

    async def update_account(self, agent_id: str, fields: dict[str, str]) -> None:
        await self.r.hset(self.k.account(agent_id), mapping=fields)

    async def get_account(self, agent_id: str) -> dict[str, str] | None:
        data: dict[str, str] = await self.r.hgetall(self.k.account(agent_id))
        return data or None

    async def account_id_by_email(self, email: str) -> str | None:
        value: str | None = await self.r.hget(self.k.accounts_by_email(), email.lower())
        return value

    async def create_session(self, token: str, agent_id: str, ttl: int) -> None:
        pipe = self.r.pipeline(transaction=False)
        pipe.set(self.k.session(token), agent_id, ex=ttl)
        pipe.sadd(self.k.agent_sessions(agent_id), token)
        await pipe.execute()

    async def session_agent(self, token: str) -> str | None:
        value: str | None = await self.r.get(self.k.session(token))
        return value

    async def delete_session(self, token: str) -> None:
        await self.r.delete(self.k.session(token))

    # --- doorbell -------------------------------------------------------------------------
    async def publish(self, site: str, event: list[Any]) -> None:
        await self.r.publish(self.k.channel(site), msgpack.packb(event, use_bin_type=True))


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
    )
