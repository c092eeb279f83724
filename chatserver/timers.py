"""The durable-timer runner: every node polls each site's due deadlines and fires them.

The deadlines live in Redis (see :mod:`chatserver.store.lifecycle`), so a restart or a
killed node loses none; several nodes poll the same set and the scripts let one act.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from chatserver.core.policy import SitePolicy
from chatserver.core.timers import TimerKind, parse_member
from chatserver.log import get_logger
from chatserver.store import Store

log = get_logger(__name__)

BATCH = 200
MAX_BATCHES = 5  # per site and tick: a backlog drains over a few ticks, never starves others


class TimerRunner:
    def __init__(
        self,
        store: Store,
        policy: Callable[[str], Awaitable[SitePolicy]],
        clock: Callable[[], int],
    ) -> None:
        self.store = store
        self.policy = policy
        self.clock = clock
        self.fired = 0
        # The mail step (chatserver/mail/alerts.py) for ``mail|<conversation>`` timers: it
        # queues what the conversation calls for and then drops the timer.
        self.on_mail: Callable[[str, str, str, int], Awaitable[bool]] | None = None

    async def tick(self) -> int:
        """Fire every timer due now on every site; returns how many acted."""
        acted = 0
        for site in await self.store.list_sites():
            for _ in range(MAX_BATCHES):
                now = self.clock()
                due = await self.store.due_timers(site, now, BATCH)
                if not due:
                    break
                policy = await self.policy(site)
                results = await asyncio.gather(
                    *(self._fire(site, member, now, policy) for member in due)
                )
                acted += sum(results)
                if len(due) < BATCH:
                    break
        self.fired += acted
        return acted

    async def _fire(self, site: str, member: str, now: int, policy: SitePolicy) -> bool:
        kind, subject = parse_member(member)
        if kind == TimerKind.MAIL:
            return self.on_mail is not None and await self.on_mail(site, subject, member, now)
        if kind == TimerKind.GRACE:
            outcome = await self.store.fire_grace(site, subject, member, now)
        else:
            outcome = await self.store.fire_timer(site, member, now, policy)
        if outcome in ("fired", "requeued"):
            log.info("timer_fired", site=site, timer=kind, subject=subject, outcome=outcome)
            return True
        return False
