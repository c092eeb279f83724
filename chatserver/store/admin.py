"""What the admin pages change: accounts (list, deactivate, sessions) beyond the basics."""

from __future__ import annotations

from chatserver.events import AccountChanged
from chatserver.store.agents import AgentStore
from chatserver.store.base import now_ms


class AdminStore(AgentStore):
    async def list_accounts(self) -> list[dict[str, str]]:
        """Every agent account of the installation, sorted by email (no password hashes)."""
        ids = sorted((await self.r.hgetall(self.k.accounts_by_email())).values())
        accounts = await self._hgetall_many([self.k.account(aid) for aid in ids])
        out = [{k: v for k, v in a.items() if k != "password_hash"} for a in accounts if a]
        return sorted(out, key=lambda a: a.get("email", ""))

    async def disconnect_agent(self, site: str, agent_id: str, now: int | None = None) -> None:
        """Take the agent out of routing now and close its sockets on every node."""
        k = self.k
        await self.scripts.run(
            "agent_deactivate",
            [k.agent_state(site, agent_id), k.presence(site, agent_id), k.latency(site)],
            [agent_id, k.channel(site), now_ms() if now is None else now],
        )

    async def account_changed(self, site: str, agent_id: str) -> None:
        """Tell every node to reload the agent's account (capacity, role, departments)."""
        await self.publish(site, AccountChanged(agent_id))
