"""Auto-assignment: runs routing rounds for a site when something changed.

Every node may run rounds at once; the claim script keeps that safe. Rounds are coalesced
per site (a kick during a round makes one more round, not one per kick).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import replace

from redis.exceptions import RedisError

from chatserver.core.policy import DEFAULT_POLICY, SitePolicy
from chatserver.core.routing import AgentSnapshot, rank_candidates
from chatserver.log import get_logger
from chatserver.store import Store, StoreError, now_ms

log = get_logger(__name__)

# Candidates passed to one claim: enough to survive a few racing nodes, few enough to keep
# the script short.
MAX_CANDIDATES = 8
# How long this node trusts the agents it read (seconds). Reading them costs three commands
# per agent, and every arrival starts a round on every node; the claim script re-checks
# everything, so a stale view only costs a failed claim, which reads them afresh. Events that
# free capacity (an end, an unassignment, a status change) drop the view at once.
SNAPSHOT_TTL = 1.0


class Router:
    def __init__(
        self,
        store: Store,
        clock: Callable[[], int] = now_ms,
        policy: Callable[[str], Awaitable[SitePolicy]] | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.policy = policy
        self._running: dict[str, asyncio.Task[None]] = {}
        self._again: set[str] = set()
        self._agents: dict[str, tuple[float, list[AgentSnapshot]]] = {}
        self.assigned = 0

    def kick(self, site: str, fresh: bool = False) -> None:
        """Run a routing round soon; ``fresh`` when agents may have gained free capacity."""
        if fresh:
            self._agents.pop(site, None)
        if site in self._running:
            self._again.add(site)
            return
        self._running[site] = asyncio.get_running_loop().create_task(self._loop(site))

    async def stop(self) -> None:
        for task in list(self._running.values()):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self, site: str) -> None:
        try:
            while True:
                self._again.discard(site)
                try:
                    await self.round(site)
                except (RedisError, OSError) as exc:
                    log.warning("routing_round_failed", site=site, error=str(exc))
                if site not in self._again:
                    break
        finally:
            self._running.pop(site, None)

    async def round(self, site: str) -> int:
        """Assign as many queued conversations as free capacity allows; returns how many."""
        entries = await self.store.queue_entries(site)
        if not entries:
            return 0
        agents = await self.agents(site)
        if not any(a.available for a in agents):
            return 0
        assigned = 0
        policy = await self.policy(site) if self.policy else DEFAULT_POLICY
        for conv_id, dept, _ in entries:
            agent_id = None
            for attempt in range(2):
                candidates = rank_candidates(agents, dept)[:MAX_CANDIDATES]
                if not candidates:
                    break
                try:
                    agent_id = await self.store.claim(
                        site, conv_id, candidates, self.clock(), department=dept, policy=policy
                    )
                except StoreError as exc:
                    if exc.code != "none" or attempt:
                        break  # taken meanwhile (conflict), or nobody can take it now
                    # Our snapshot was stale: someone else filled these agents. Look again
                    # and try the same chat first: it keeps its turn (first come, first
                    # served within its priority, whatever the number of nodes).
                    agents = await self.agents(site, fresh=True)
                    if not any(a.available for a in agents):
                        return assigned
                    continue
                break
            if agent_id is None:
                continue
            assigned += 1
            self.assigned += 1
            now = self.clock()
            agents = [
                a if a.agent_id != agent_id else replace(a, load=a.load + 1, last_assigned_at=now)
                for a in agents
            ]
            self._agents[site] = (asyncio.get_running_loop().time(), agents)
            if not any(a.available for a in agents):
                break
        return assigned

    async def agents(self, site: str, fresh: bool = False) -> list[AgentSnapshot]:
        """This node's view of the site's agents, at most SNAPSHOT_TTL old (``fresh``: read
        now). Shared by routing, queue estimates and the widget's availability."""
        loop_now = asyncio.get_running_loop().time()
        cached = self._agents.get(site)
        if not fresh and cached is not None and loop_now - cached[0] < SNAPSHOT_TTL:
            return cached[1]
        agents = await self.store.agent_snapshots(site)
        self._agents[site] = (loop_now, agents)
        return agents
