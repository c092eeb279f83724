"""Agents' routing state, accounts and sessions."""

from __future__ import annotations

from collections.abc import Iterable

from chatserver.core.departments import join_departments, parse_departments
from chatserver.core.routing import AgentSnapshot
from chatserver.store.base import (
    StoreError,
    new_id,
    now_ms,
)
from chatserver.store.sites import SiteStore


class AgentStore(SiteStore):
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
        now: int | None = None,
    ) -> None:
        """Record the agent's state and presence; ``announce`` rings the doorbell (routing).

        A change of status closes the agent's previous online/away period (a latency record
        for the dashboard's time online) at ``now`` (default: the wall clock).

        The heartbeat calls this with ``announce=False`` for every connected agent, so the
        state is re-asserted even if Redis restarted and lost its last writes.
        """
        k = self.k
        await self.scripts.run(
            "agent_status",
            [
                k.agent_state(site, agent_id),
                k.presence(site, agent_id),
                k.agents(site),
                k.timers(site),
                k.latency(site),
            ],
            [
                agent_id,
                name,
                capacity,
                status,
                ttl,
                join_departments(departments),
                k.channel(site),
                "1" if announce else "0",
                now_ms() if now is None else now,
            ],
        )

    async def agent_left(self, site: str, agent_id: str, now: int, grace_ms: int) -> None:
        """No new chats for the agent from now on (offline, presence gone); their chats
        wait out ``grace_ms``. A node that still has a socket of theirs records them again
        when it hears of it (the hub)."""
        k = self.k
        await self.scripts.run(
            "agent_left",
            [
                k.agent_state(site, agent_id),
                k.presence(site, agent_id),
                k.timers(site),
                k.latency(site),
            ],
            [agent_id, now, grace_ms, k.channel(site)],
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
                    departments=frozenset(parse_departments(depts)),
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
                "departments": join_departments(departments),
                "active": "1",
                "password_hash": password_hash,
            }
        )

    async def update_account(self, agent_id: str, fields: dict[str, str]) -> None:
        await self.r.hset(self.k.account(agent_id), mapping=fields)

    async def set_account_preferences(self, agent_id: str, lang: str, calendar: str) -> None:
        """The agent's console language and calendar ('' for the defaults: the browser's
        language, that language's calendar), fields ``lang`` and ``calendar`` of the account
        hash, which every page reads already (console/i18n.py)."""
        await self.r.hset(self.k.account(agent_id), mapping={"lang": lang, "calendar": calendar})

    async def get_account(self, agent_id: str) -> dict[str, str] | None:
        data: dict[str, str] = await self.r.hgetall(self.k.account(agent_id))
        return data or None

    async def account_id_by_email(self, email: str) -> str | None:
        value: str | None = await self.r.hget(self.k.accounts_by_email(), email.lower())
        return value

    async def session_agent(self, token: str) -> str | None:
        value: str | None = await self.r.get(self.k.session(token))
        return value

    async def delete_session(self, token: str) -> None:
        await self.r.delete(self.k.session(token))
