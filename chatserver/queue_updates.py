"""Queue positions and estimated waits, pushed to visitors and agents as the queue moves.

A mixin of :class:`chatserver.hub.Hub`: every queue move of a site schedules one debounced
update, which reads the queue once and tells each local waiting visitor its position and
estimate (only when they change enough to matter) and each local agent the queue list.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from chatserver.connection import AgentConn, VisitorConn
from chatserver.core.estimate import (
    HandleTimeEstimator,
    estimate_wait,
    should_notify,
    within_hours,
)
from chatserver.core.routing import free_capacity, online_count, total_capacity
from chatserver.core.sla import department_clocks
from chatserver.frames import conversation_summary
from chatserver.lifecycle import Lifecycle
from chatserver.protocol import OutFrame
from chatserver.router import Router
from chatserver.store import Store

QUEUE_DEBOUNCE = 0.2  # seconds: coalesce a burst of queue moves into one update


class QueueUpdates:
    store: Store
    site_visitors: dict[str, set[VisitorConn]]
    site_agents: dict[str, set[AgentConn]]
    handle_times: dict[str, HandleTimeEstimator]
    clock: Callable[[], int]
    router: Router
    lifecycle: Lifecycle
    _queue_timers: dict[str, asyncio.TimerHandle]

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        raise NotImplementedError

    def queue_changed(self, site: str) -> None:
        """Schedule one debounced queue update for the site's local visitors and agents."""
        if site in self._queue_timers:
            return
        loop = asyncio.get_running_loop()
        self._queue_timers[site] = loop.call_later(
            QUEUE_DEBOUNCE, lambda: self.spawn(self._queue_update(site))
        )

    async def _queue_update(self, site: str) -> None:
        self._queue_timers.pop(site, None)
        waiting = [
            c for c in self.site_visitors.get(site, ()) if c.conv_id and c.conv_status == "queued"
        ]
        agent_conns = list(self.site_agents.get(site, ()))
        if not waiting and not agent_conns:
            return
        agents = await self.router.agents(site)
        if waiting:
            ranks = await self.store.queue_ranks(
                site, [(c.conv_id or "", c.department) for c in waiting]
            )
            free, total, online = (
                free_capacity(agents),
                total_capacity(agents),
                online_count(agents),
            )
            handle = self.handle_times.get(site, HandleTimeEstimator()).mean
            clocks = department_clocks(await self.lifecycle.policy(site))
            now = self.clock()
            for conn, rank in zip(waiting, ranks, strict=True):
                # Assigned (or ended) while the queue was read: a position now would come
                # after the `assigned` frame and put the visitor back in line on screen.
                if rank is None or conn.conv_status != "queued":
                    continue
                position = rank + 1
                estimate, opens_at = within_hours(
                    estimate_wait(position, free, total, online, handle),
                    now,
                    clocks.clock(conn.department).hours,
                )
                if should_notify(conn.last_queue, (position, estimate)) or online == 0:
                    conn.last_queue = (position, estimate)
                    if estimate is not None and conn.first_estimate is None:
                        conn.first_estimate = (self.clock(), estimate)
                    conn.send(
                        {
                            "type": "queue",
                            "conversation_id": conn.conv_id,
                            "position": position,
                            "estimated_wait": estimate,
                            "agents_online": online,
                            "opens_at": opens_at,
                        }
                    )
        if agent_conns:
            frame = OutFrame({"type": "queue", "items": await self.queue_items(site)})
            for aconn in agent_conns:
                aconn.send(frame)

    async def queue_items(self, site: str, limit: int = 100) -> list[dict[str, Any]]:
        entries = await self.store.queue_entries(site, limit)
        convs = await self.store.get_conversations(site, [cid for cid, _, _ in entries])
        visitors = await self.store.load_visitors(site, [c.get("visitor", "") for c in convs])
        by_id = {c.get("id"): (c, v) for c, v in zip(convs, visitors, strict=True)}
        items = []
        for position, (conv_id, _dept, _score) in enumerate(entries, 1):
            found = by_id.get(conv_id)
            if found is None:
                continue
            summary = conversation_summary(*found)
            summary["position"] = position
            items.append(summary)
        return items
