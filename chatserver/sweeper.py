"""The sweeper: reconciles what the crash of a node (or a Redis that lost writes) can leave.

It compares each site's open set, queues and agents' load sets with the conversations they
point at, repairs every difference with a script that re-checks it atomically, and makes
sure every open conversation whose agent or visitor is gone has the timer that will move it
on. Every node sweeps; a repair that another node already made does nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from chatserver.core.policy import SitePolicy
from chatserver.core.states import HANDLED_STATUSES, OPEN_STATUSES, Status
from chatserver.core.timers import TimerKind, member
from chatserver.log import get_logger
from chatserver.store import Store

log = get_logger(__name__)


@dataclass
class SweepReport:
    repairs: dict[str, int] = field(default_factory=dict)
    timers_set: int = 0

    def count(self, what: str) -> None:
        self.repairs[what] = self.repairs.get(what, 0) + 1


class Sweeper:
    def __init__(
        self,
        store: Store,
        policy: Callable[[str], Awaitable[SitePolicy]],
        clock: Callable[[], int],
    ) -> None:
        self.store = store
        self.policy = policy
        self.clock = clock

    async def sweep(self) -> SweepReport:
        report = SweepReport()
        for site in await self.store.list_sites():
            await self.sweep_site(site, report)
        return report

    async def sweep_site(self, site: str, report: SweepReport) -> None:
        store, k = self.store, self.store.k
        now = self.clock()
        view = await store.sweep_view(site, now)
        policy = await self.policy(site)

        async def fix(op: str, conv_id: str, key: str, arg: str = "", score: float = 0) -> None:
            if await store.repair(site, op, conv_id, key, arg, score):
                report.count(op)
                log.warning("sweeper_repaired", site=site, repair=op, conversation=conv_id)

        for conv_id in view.missing_open:
            await fix("drop_open", conv_id, k.open_conversations(site))
        for conv in view.open_convs:
            conv_id, status = conv.get("id", ""), conv.get("status", "")
            agent, visitor = conv.get("agent", ""), conv.get("visitor", "")
            dept = conv.get("department", "")
            if status not in OPEN_STATUSES:
                await fix("drop_open", conv_id, k.open_conversations(site))
                continue
            if status == Status.QUEUED and conv_id not in view.queues.get(dept, ()):
                await fix("enqueue", conv_id, k.queue(site, dept), dept, store.queue_score_of(conv))
            if status in HANDLED_STATUSES and agent:
                if conv_id not in view.loads.get(agent, ()):
                    await fix("own", conv_id, k.agent_conversations(site, agent), agent)
                grace = member(TimerKind.GRACE, agent)
                if agent not in view.agents_present and grace not in view.timers:
                    due = now + policy.ms("agent_grace_s")
                    await store.schedule_timer(site, grace, due, keep=True)
                    view.timers.add(grace)
                    report.timers_set += 1
            gone = member(TimerKind.VISITOR_GONE, conv_id)
            if (
                visitor not in view.visitors_present
                and gone not in view.timers
                and member(TimerKind.ABANDON, conv_id) not in view.timers
            ):
                due = now + policy.ms("visitor_grace_s")
                await store.schedule_timer(site, gone, due, keep=True)
                report.timers_set += 1
        by_id = {c.get("id", ""): c for c in view.open_convs}
        for dept, ids in view.queues.items():
            for conv_id in ids:
                found = by_id.get(conv_id)
                if (
                    found is None
                    or found.get("status") != Status.QUEUED
                    or found.get("department", "") != dept
                ):
                    await fix("dequeue", conv_id, k.queue(site, dept), dept)
        for agent, conv_ids in view.loads.items():
            for conv_id in conv_ids:
                found = by_id.get(conv_id)
                if (
                    found is None
                    or found.get("agent") != agent
                    or found.get("status") not in HANDLED_STATUSES
                ):
                    await fix("disown", conv_id, k.agent_conversations(site, agent), agent)
