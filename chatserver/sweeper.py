"""The sweeper: reconciles what the crash of a node (or a Redis that lost writes) can leave.

It compares each site's open set, queues and agents' load sets with the conversations they
point at, repairs every difference with a script that re-checks it atomically, and makes
sure every open conversation whose agent or visitor is gone has the timer that will move it
on. Every node sweeps; a repair that another node already made does nothing.

Nothing is read whole: a tick reads each site a page at a time up to a budget and the next
tick goes on from there (chatserver.core.paging), so a site of any size is covered by
successive ticks and no tick's work grows with it (docs/performance.md has the figures for a
site of 100,000 open conversations).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from chatserver.core.paging import LOADS, OPEN, QUEUES, Budget, Cursor, SweepPass, last_cursor
from chatserver.core.policy import SitePolicy
from chatserver.core.states import HANDLED_STATUSES, OPEN_STATUSES, Status
from chatserver.core.timers import TimerKind, member
from chatserver.log import get_logger
from chatserver.store import Store

log = get_logger(__name__)

# 10 pages of 1,000 per site and tick: one tick's work at 100,000 open conversations is in
# docs/performance.md, as is how many ticks a full pass takes.
DEFAULT_BUDGET = Budget(page=1000, pages=10)


@dataclass
class SweepReport:
    repairs: dict[str, int] = field(default_factory=dict)
    timers_set: int = 0
    read: int = 0  # entries read this tick (open, queued and held)
    passes: int = 0  # full passes completed this tick

    def count(self, what: str) -> None:
        self.repairs[what] = self.repairs.get(what, 0) + 1


class Sweeper:
    """Each tick reads at most ``budget`` of each site (pages of the open set, then of every
    queue, then of every load set) and continues where the last tick stopped, so the work of
    a tick is bounded whatever the size of a site and successive ticks cover all of it; a
    site smaller than the budget is covered whole by every tick. ``passes`` keeps where each
    site's walk is on this node (each node walks on its own; their repairs are re-checked)."""

    def __init__(
        self,
        store: Store,
        policy: Callable[[str], Awaitable[SitePolicy]],
        clock: Callable[[], int],
        budget: Budget = DEFAULT_BUDGET,
    ) -> None:
        self.store = store
        self.policy = policy
        self.clock = clock
        self.budget = budget
        self.passes: dict[str, SweepPass] = {}

    async def sweep(self) -> SweepReport:
        report = SweepReport()
        sites = await self.store.list_sites()
        for site in sites:
            await self.sweep_site(site, report)
        for gone in set(self.passes) - set(sites):
            del self.passes[gone]
        return report

    async def sweep_site(self, site: str, report: SweepReport) -> None:
        now = self.clock()
        state = self.passes.setdefault(site, SweepPass())
        state.begin_tick(now)
        tick = _Tick(self, site, now, await self.policy(site), report)
        left = self.budget.entries
        names: dict[str, list[str]] = {}  # departments and agents, read once a tick
        while left > 0:
            page = min(self.budget.page, left)
            if state.phase == OPEN:
                n = await tick.open_page(state.cursor, page)
                if n < page:
                    state.next_phase()
                else:
                    state.cursor = tick.cursor
            elif state.phase == QUEUES:
                if QUEUES not in names:
                    names[QUEUES] = sorted(await self.store.departments(site))
                dept = state.current(names[QUEUES])
                if dept is None:
                    state.next_phase()
                    continue
                n = await tick.queue_page(dept, state.cursor, page)
                if n < page:
                    if not state.next_item(names[QUEUES]):
                        state.next_phase()
                else:
                    state.cursor = tick.cursor
            else:
                if LOADS not in names:
                    names[LOADS] = await self.store.site_agents(site)
                agent = state.current(names[LOADS])
                if agent is None:
                    self._finished(site, state, now, report)
                    return
                n, scan = await tick.load_page(agent, state.scan, page)
                state.scan = scan
                if scan == 0 and not state.next_item(names[LOADS]):
                    report.read += n
                    self._finished(site, state, now, report)
                    return
            left -= max(1, n)
            report.read += n

    @staticmethod
    def _finished(site: str, state: SweepPass, now: int, report: SweepReport) -> None:
        state.finish(now)
        report.passes += 1
        if state.last_pass_ticks > 1:  # a site larger than one tick's budget
            log.info(
                "sweep_pass_done",
                site=site,
                ticks=state.last_pass_ticks,
                took_ms=state.last_pass_ms,
            )


class _Tick:
    """One tick's work on one site: each page's comparisons and repairs."""

    def __init__(
        self, sweeper: Sweeper, site: str, now: int, policy: SitePolicy, report: SweepReport
    ) -> None:
        self.store = sweeper.store
        self.site, self.now, self.policy, self.report = site, now, policy, report
        self.cursor: Cursor | None = None
        self.graces: set[str] = set()  # grace timers set this tick

    async def fix(self, op: str, conv_id: str, key: str, arg: str = "", score: float = 0) -> None:
        if await self.store.repair(self.site, op, conv_id, key, arg, score):
            self.report.count(op)
            log.warning("sweeper_repaired", site=self.site, repair=op, conversation=conv_id)

    async def open_page(self, cursor: Cursor | None, size: int) -> int:
        store, k, site, now = self.store, self.store.k, self.site, self.now
        page = await store.open_page(site, cursor, size, now)
        self.cursor = last_cursor(page.entries)
        for conv_id in page.missing:
            await self.fix("drop_open", conv_id, k.open_conversations(site))
        for conv in page.convs:
            conv_id, status = conv.get("id", ""), conv.get("status", "")
            agent, visitor = conv.get("agent", ""), conv.get("visitor", "")
            dept = conv.get("department", "")
            if status not in OPEN_STATUSES:
                await self.fix("drop_open", conv_id, k.open_conversations(site))
                continue
            if status == Status.QUEUED and conv_id not in page.in_queue:
                score = store.queue_score_of(conv)
                await self.fix("enqueue", conv_id, k.queue(site, dept), dept, score)
            if status in HANDLED_STATUSES and agent:
                if conv_id not in page.in_load:
                    await self.fix("own", conv_id, k.agent_conversations(site, agent), agent)
                grace = member(TimerKind.GRACE, agent)
                if (
                    agent not in page.agents_present
                    and grace not in page.timers
                    and grace not in self.graces
                ):
                    due = now + self.policy.ms("agent_grace_s")
                    await store.schedule_timer(site, grace, due, keep=True)
                    self.graces.add(grace)
                    self.report.timers_set += 1
            gone = member(TimerKind.VISITOR_GONE, conv_id)
            if (
                visitor not in page.visitors_present
                and gone not in page.timers
                and member(TimerKind.ABANDON, conv_id) not in page.timers
            ):
                due = now + self.policy.ms("visitor_grace_s")
                await store.schedule_timer(site, gone, due, keep=True)
                self.report.timers_set += 1
        return len(page.entries)

    async def queue_page(self, dept: str, cursor: Cursor | None, size: int) -> int:
        k, site = self.store.k, self.site
        page = await self.store.queue_page(site, dept, cursor, size)
        self.cursor = last_cursor(page.entries)
        for conv_id, _ in page.entries:
            status, in_dept, _agent = page.states[conv_id]
            if status != Status.QUEUED or in_dept != dept:
                await self.fix("dequeue", conv_id, k.queue(site, dept), dept)
        return len(page.entries)

    async def load_page(self, agent: str, scan: int, size: int) -> tuple[int, int]:
        k, site = self.store.k, self.site
        page = await self.store.load_page(site, agent, scan, size)
        for conv_id, _ in page.entries:
            status, _dept, holder = page.states[conv_id]
            if holder != agent or status not in HANDLED_STATUSES:
                await self.fix("disown", conv_id, k.agent_conversations(site, agent), agent)
        return len(page.entries), page.scan
