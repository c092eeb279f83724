"""The supervisors' dashboard on this node: its figures, its rollups and its live sockets.

Every node folds its sites' latency records into the rollups and samples the queue every
``metrics_interval`` seconds (the fold is exactly-once across nodes; a sample keeps the highest
value of its minute). :meth:`Dashboards.figures` assembles what the JSON API and the
dashboard socket send: the live "now" from Redis, "today" (from midnight in the site's time
zone) and "last hour" from the hourly buckets, each agent's report, and the charts.

Sockets watching a site get fresh figures after any of its events (debounced) and every
:data:`PUSH_INTERVAL` seconds, since waits grow without any event.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, tzinfo
from typing import Any

from prometheus_client import CollectorRegistry, Histogram
from redis.exceptions import RedisError

from chatserver.close_codes import CloseCode
from chatserver.config import Settings
from chatserver.connection import Connection
from chatserver.core import window_figures as m
from chatserver.core.estimate import HandleTimeEstimator
from chatserver.core.hours import parse_office_hours
from chatserver.core.now_figures import gauges
from chatserver.core.now_stream import FOLD_FIELDS, SHOWN_FIELDS, NowAccumulator
from chatserver.core.sla import SlaPolicy
from chatserver.events import AccountChanged, Deactivated, Event, SignedOut
from chatserver.log import get_logger
from chatserver.protocol import DASHBOARD_FRAMES, Codec, OutFrame, ProtocolError
from chatserver.sessions import VIEW_ROLES
from chatserver.store import Store
from chatserver.tasks import Background

log = get_logger(__name__)

PUSH_DEBOUNCE = 1.0  # seconds: a burst of events gives one push
PUSH_INTERVAL = 5.0
CHART_HOURS = 6  # queue length and longest wait, in slots of CHART_SLOT minutes
CHART_SLOT = 5
HOURLY_CHART_HOURS = 24


@dataclass(frozen=True, slots=True)
class LiveNow:
    """One read of a site's live state: its open conversations folded, and its agents."""

    taken_at: int
    now: NowAccumulator
    agents: list[dict[str, Any]]


class DashboardConn(Connection):
    """A supervisor's dashboard socket: which site and department it watches."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.account: dict[str, str] = {}
        self.department: str | None = None
        self.watching = False
        # A digest of the session it signed in with: signing out (or revoking the session)
        # closes it, as it does the agent's sockets.
        self.session = ""


_DEPT = re.compile(r"^[^\x00-\x1f]{0,40}$")


def department_filter(value: str | None) -> str | None:
    """The department filter: None (all) when absent or empty; ValueError when malformed."""
    if not value:
        return None
    if not _DEPT.match(value):
        raise ValueError("department must be at most 40 characters")
    return value


def handle_seconds(records: list[m.Record]) -> float:
    """The handle time the visitors' estimates use (core/estimate.py), from the records:
    each resolved chat's last assignment to its end, so the dashboard's "next visitor waits"
    and what visitors are told come from one function (resolution time includes queueing)."""
    learned = HandleTimeEstimator()
    assigned: dict[str, int] = {}
    for r in sorted(records, key=lambda r: r.ts):
        if r.kind == "wait":
            assigned[r.conv] = r.ts
        elif r.kind == "resolution" and r.conv in assigned:
            learned.add((r.ts - assigned.pop(r.conv)) / 1000)
    return learned.mean


class Dashboards:
    def __init__(self, store: Store, settings: Settings, clock: Callable[[], int]) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.codec = Codec(DASHBOARD_FRAMES, settings.max_frame_bytes)
        self.watchers: dict[str, set[DashboardConn]] = {}
        self._pending: dict[str, asyncio.TimerHandle] = {}
        # What the last read of each site's live state took (s): pushes after events wait
        # twice that, so a large site's reads never overlap or take more than a third of a
        # core (a site of 100,000 open chats: docs/performance.md).
        self._read_cost: dict[str, float] = {}
        self._tasks = Background()
        # Each site's SLA policy with its clocks, rebuilt only when its settings change: the
        # clocks keep their memos from one push to the next.
        self._sla: dict[str, tuple[dict[str, str], SlaPolicy]] = {}
        # Process-level metric of this node, exposed by /metrics with the rest.
        self.registry = CollectorRegistry(auto_describe=True)
        self.redis_latency = Histogram(
            "chatserver_redis_ping_seconds",
            "Round trip of a PING to Redis, sampled by this node",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
            registry=self.registry,
        )

    # --- background work ------------------------------------------------------------------
    async def start(self) -> None:
        self._tasks.spawn(self._run(), name="dashboards")

    async def stop(self) -> None:
        for handle in self._pending.values():
            handle.cancel()
        await self._tasks.stop()

    async def _run(self) -> None:
        """Push to this node's dashboards every few seconds; roll up every interval."""
        loop = asyncio.get_running_loop()
        rolled = loop.time()
        took = 0.0
        while True:
            # A step that took long (a site of 100,000 open chats is read whole) waits twice
            # as long before the next: the dashboards never take more than a third of a core.
            await asyncio.sleep(max(PUSH_INTERVAL, 2 * took))
            began = loop.time()
            try:
                reads: dict[str, LiveNow] = {}
                if loop.time() - rolled >= self.settings.metrics_interval:
                    rolled = loop.time()
                    reads = await self.roll_up()
                # A site just sampled is pushed from the same read (one read of a large
                # site per step, not two).
                await asyncio.gather(
                    *(self.push(site, live=reads.get(site)) for site in list(self.watchers))
                )
            except (RedisError, OSError) as exc:
                log.warning("metrics_step_failed", error=str(exc))
            except Exception:
                log.exception("metrics_step_crashed")
            took = loop.time() - began

    async def ping(self) -> float:
        """Time one PING to Redis (seconds) and keep it in the latency histogram."""
        began = time.perf_counter()
        await self.store.ping()
        took = time.perf_counter() - began
        self.redis_latency.observe(took)
        return took

    async def roll_up(self) -> dict[str, LiveNow]:
        """Fold every site's new records and sample its queue (each node, every interval);
        returns the reads of the watched sites' live state, checked for unowned chats, for
        their pushes."""
        await self.ping()
        now = self.clock()
        reads = {}
        for site in await self.store.list_sites():
            await self.store.fold_metrics(site)
            reads[site] = await self.sample(site, now, owners=site in self.watchers)
        return {site: live for site, live in reads.items() if site in self.watchers}

    async def sample(self, site: str, now: int, owners: bool = False) -> LiveNow:
        """Keep this minute's queue length and longest wait (site-wide and per department);
        returns the read it sampled."""
        live = await self.live(site, now, owners=owners)
        panel = live.now.figures(live.agents)
        depts = set(live.now.departments()) | set(await self.store.departments(site))
        by_dept = {d: live.now.figures(live.agents, d) for d in sorted(depts) if d}
        await self.store.write_gauges(site, m.minute_of(now), gauges(panel, by_dept))
        return live

    async def live(self, site: str, now: int | None = None, owners: bool = True) -> LiveNow:
        """The site's "now" at ``now`` (default: the clock): every open conversation read a
        page at a time and folded, every department at once, so one read serves a push to
        every department's dashboards, whatever the size of the site. With ``owners``, the
        invariant (unowned chats) is checked too, which the per-minute samples do without."""
        began = time.perf_counter()
        live = await self._read_live(site, self.clock() if now is None else now, owners)
        self._read_cost[site] = time.perf_counter() - began
        return live

    async def _read_live(self, site: str, now: int, owners: bool) -> LiveNow:
        policy = self.sla_policy(site, await self.store.get_site(site))
        acc = NowAccumulator(
            now,
            policy.ms("sla_first_response_s"),
            policy.ms("sla_next_response_s"),
            policy.clocks,  # each chat's department's hours
        )
        async for rows, unowned in self.store.open_pages(site, owners, fields=FOLD_FIELDS):
            lost = set(unowned)
            for row in rows:
                acc.add(row, row.get("id", "") in lost)
        acc.display = dict(await self.store.shown_fields(site, acc.kept_ids(), SHOWN_FIELDS))
        return LiveNow(now, acc, await self.store.live_agents(site))

    # --- the figures ----------------------------------------------------------------------
    async def site_tz(self, site_cfg: dict[str, str] | None) -> tzinfo:
        """The site's time zone: its office hours', else UTC."""
        try:
            hours = parse_office_hours((site_cfg or {}).get("office_hours"))
        except ValueError:
            hours = None
        return hours.tz if hours is not None else UTC

    def sla_policy(self, site: str, site_cfg: dict[str, str] | None) -> SlaPolicy:
        cfg = dict(site_cfg or {})
        cached = self._sla.get(site)
        if cached is not None and cached[0] == cfg:
            return cached[1]
        policy = SlaPolicy.from_settings(cfg)
        self._sla[site] = (cfg, policy)
        return policy

    async def figures(
        self, site: str, dept: str | None = None, live: LiveNow | None = None
    ) -> dict[str, Any]:
        """Everything the dashboard shows for ``site`` (one department when ``dept``);
        ``live``: a read of the live state to use (one read for every department)."""
        now = self.clock() if live is None else live.taken_at
        await self.store.fold_metrics(site)
        site_cfg = await self.store.get_site(site)
        tz = await self.site_tz(site_cfg)
        today_start = m.day_start(now, tz)
        hour_start = now - m.HOUR_MS
        first_chart_hour = m.hour_of(now) - (HOURLY_CHART_HOURS - 1)
        records = await self.store.metric_records(
            site, min(today_start, hour_start, first_chart_hour * m.HOUR_MS), now + 1
        )
        today = m.in_window(records, today_start, now + 1, dept)
        last_hour = m.in_window(records, hour_start, now + 1, dept)
        handle = handle_seconds(today)
        if live is None:
            live = await self.live(site, now)
        panel = live.now.figures(live.agents, dept, handle)
        agents = [a for a in live.agents if dept is None or a["id"] in _ids(panel)]
        # One department: its chats' records, and every online/away period of its agents.
        agent_records = [
            r for r in records if dept is None or r.dept == dept or r.kind in ("online", "away")
        ]
        last_minute = m.minute_of(now)
        first_minute = last_minute - CHART_HOURS * 60 + 1
        minutes = await self.store.read_gauges(site, first_minute, last_minute)
        field = dept if dept else "*"
        departments = sorted(set(await self.store.departments(site)) - {""})
        return {
            "site": site,
            "department": dept,
            "departments": departments,
            "generated_at": now,
            "timezone": str(tz),
            "now": panel,
            "today": {
                "start": today_start,
                **m.window_figures(today),
                "labels": await self.store.label_counts(site, today_start, now + 1, dept),
                # Visitors a help article answered (site-wide: they never reached a department).
                "deflected": await self.store.deflections(site, today_start),
            },
            "last_hour": {"start": hour_start, **m.window_figures(last_hour)},
            "agents": m.agent_report(agent_records, agents, today_start, now),
            "charts": {
                "slot_minutes": CHART_SLOT,
                "queue_length": m.gauge_series(
                    minutes, f"queue|{field}", first_minute, last_minute, CHART_SLOT
                ),
                "longest_wait_ms": m.gauge_series(
                    minutes, f"wait|{field}", first_minute, last_minute, CHART_SLOT
                ),
                "chats_per_hour": m.per_hour(
                    records, "started", first_chart_hour, m.hour_of(now), dept
                ),
                "first_response_today": m.distribution(
                    [r.ms for r in today if r.kind == "first_response"], m.FIRST_RESPONSE_BARS_S
                ),
            },
        }

    # --- live sockets ---------------------------------------------------------------------
    def watch(self, conn: DashboardConn) -> None:
        self.watchers.setdefault(conn.site, set()).add(conn)
        conn.watching = True

    def unwatch(self, conn: DashboardConn) -> None:
        conns = self.watchers.get(conn.site)
        if conns is not None:
            conns.discard(conn)
            if not conns:
                del self.watchers[conn.site]

    def on_site_event(self, site: str, ev: Event) -> None:
        """Any event of a watched site: push fresh figures soon (one push per burst). A
        sign-out, a revoked session, a deactivation or a changed account closes the
        dashboards it concerns (a changed one only if it may no longer watch)."""
        if isinstance(ev, SignedOut | Deactivated | AccountChanged):
            self._tasks.spawn(self._account_event(site, ev))
        if site not in self.watchers or site in self._pending:
            return
        loop = asyncio.get_running_loop()
        delay = max(PUSH_DEBOUNCE, 2 * self._read_cost.get(site, 0.0))
        self._pending[site] = loop.call_later(delay, self._spawn_push, site)

    async def _account_event(self, site: str, ev: SignedOut | Deactivated | AccountChanged) -> None:
        conns = [c for c in self.watchers.get(site, ()) if c.account.get("id") == ev.agent]
        if isinstance(ev, SignedOut):
            conns = [c for c in conns if c.session == ev.session]
        elif isinstance(ev, AccountChanged) and conns:
            account = await self.store.get_account(ev.agent)
            if (
                account is not None
                and account.get("active", "1") == "1"
                and account.get("site") == site
                and account.get("role") in VIEW_ROLES
            ):
                return
        for conn in conns:
            conn.send(ProtocolError("unauthorized", "signed out; sign in again").frame())
            await conn.flush(1.0)
            conn.close(CloseCode.UNAUTHORIZED)

    def _spawn_push(self, site: str) -> None:
        self._pending.pop(site, None)
        self._tasks.spawn(self.push(site))

    async def push(
        self, site: str, only: DashboardConn | None = None, live: LiveNow | None = None
    ) -> None:
        """Send fresh figures to the site's dashboards (computed once per department, from
        one read of the live state: ``live``, else a new one)."""
        conns = [only] if only is not None else list(self.watchers.get(site, ()))
        frames: dict[str | None, OutFrame] = {}
        for conn in conns:
            if conn.closed:
                continue
            if conn.department not in frames:
                try:
                    live = live or await self.live(site)
                    data = await self.figures(site, conn.department, live)
                except (RedisError, OSError) as exc:
                    log.warning("dashboard_push_failed", site=site, error=str(exc))
                    return
                frames[conn.department] = OutFrame({"type": "dashboard", "data": data})
            conn.send(frames[conn.department])


def _ids(panel: dict[str, Any]) -> set[str]:
    return {str(a["id"]) for a in panel["agents"]["list"]}
