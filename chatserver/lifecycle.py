"""This node's part in the conversation lifecycle.

It keeps this node's visitors present, sets the durable timers that a closing socket calls
for (an agent's grace, a visitor gone), and runs the timer and sweeper loops. What happens
when a timer fires is in the scripts; this module only decides when to ask.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from chatserver.config import Settings
from chatserver.core.policy import SitePolicy
from chatserver.core.sla import SlaPolicy
from chatserver.core.timers import TimerKind, member
from chatserver.events import VisitorChanged
from chatserver.log import get_logger
from chatserver.retention import Retention
from chatserver.store import Store, new_id
from chatserver.sweeper import Sweeper
from chatserver.timers import TimerRunner

log = get_logger(__name__)


class Lifecycle:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        site_config: Callable[[str], Awaitable[dict[str, str] | None]],
        clock: Callable[[], int],
    ) -> None:
        self.store = store
        self.settings = settings
        self.site_config = site_config
        self.clock = clock
        self.node = new_id("n")
        self.timers = TimerRunner(store, self.policy, clock)
        self.sweeper = Sweeper(store, self.policy, clock)
        self.retention = Retention(store, site_config, clock, self.node)
        self._policies: dict[str, tuple[dict[str, str] | None, SitePolicy]] = {}

    async def policy(self, site: str) -> SitePolicy:
        """The site's policy, with the office hours its SLA clocks run on (the site's and
        each department's); parsed once per settings change (this is per message)."""
        config = await self.site_config(site)
        cached = self._policies.get(site)
        if cached is not None and cached[0] is config:
            return cached[1]
        if cached is not None and cached[0] == config:
            # The settings cache refreshed with nothing changed: keep the clocks and their
            # memos of open spans.
            self._policies[site] = (config, cached[1])
            return cached[1]
        policy = SlaPolicy.from_settings(config)
        self._policies[site] = (config, policy)
        return policy

    def _presence_until(self) -> int:
        return self.clock() + self.settings.presence_ttl * 1000

    async def visitors_here(self, by_site: dict[str, list[str]]) -> None:
        """Mark these visitors present on this node (called on connect and every beat)."""
        until = self._presence_until()
        await asyncio.gather(
            *(
                self.store.visitors_present(site, ids, self.node, until)
                for site, ids in by_site.items()
            )
        )

    async def visitor_left(self, site: str, visitor_id: str, conv_id: str | None) -> None:
        """The visitor's last socket on this node closed."""
        if not conv_id:
            await self.store.visitor_gone(site, visitor_id, self.node)
            # Their activity ends now (the next hello's visit gap counts from here).
            await self.store.visitor_page(site, visitor_id, self.clock(), 0)
            return
        policy = await self.policy(site)
        now = self.clock()
        # When they left is kept as long as a kept place may need it (lua/timer.lua 'vgone').
        grace, keep = policy.ms("visitor_grace_s"), policy.ms("keep_place_s")
        remember = grace + keep + self.settings.presence_ttl * 1000
        await self.store.visitor_gone(site, visitor_id, self.node, now, remember)
        due = now + grace
        await self.store.schedule_timer(site, member(TimerKind.VISITOR_GONE, conv_id), due)
        await self.store.visitor_page(site, visitor_id, now, 0)
        # Its agents see them gone (or still online, on another node).
        await self.store.publish(site, VisitorChanged(conv_id, visitor_id))

    async def agent_left(self, site: str, agent_id: str, back: Callable[[], bool]) -> None:
        """The agent's last socket on this node closed (or they signed out): they take no
        new chats from now on, and their chats wait out the grace. ``back`` tells whether a
        new socket of theirs has arrived meanwhile (a reload): then nothing changes."""
        policy = await self.policy(site)
        if back():
            return
        await self.store.agent_left(site, agent_id, self.clock(), policy.ms("agent_grace_s"))

    async def tick(self) -> None:
        await self.timers.tick()

    async def retain(self) -> None:
        await self.retention.tick()

    async def sweep(self) -> None:
        report = await self.sweeper.sweep()
        if report.repairs:
            log.warning("sweep_repaired", repairs=report.repairs)
