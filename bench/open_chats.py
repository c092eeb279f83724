"""A site with 100,000 open conversations: what one sweeper tick, a full sweep and a read of
the dashboard's "now" panel cost (issue 16: nothing stops growing with a site).

    python -m bench.open_chats [--open 100000] [--agents 400] [--ticks-only]

Starts its own redis-server (append-only off: this measures reads), fills one site with
conversations as the scripts leave them (a hash each, the open set, the department queues,
the agents' load sets, present visitors and agents), then times on the real store:
- one sweeper tick (the default budget: 10 pages of 1,000) and a full pass (ticks until the
  walk of the open set, every queue and every load set is done);
- one read of the dashboard's "now" (``Dashboards.live``: every open conversation, in pages,
  with the ownership check) and the whole ``Dashboards.figures``;
- ``list_sites`` cached against uncached.

:func:`fill` is also what tests/integration/test_open_chats.py loads its site with.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import redis

from chatserver.config import Settings
from chatserver.core.policy import SitePolicy
from chatserver.core.routing import queue_score
from chatserver.dashboards import Dashboards
from chatserver.embedded_redis import EmbeddedRedis
from chatserver.keys import Keys
from chatserver.store import Store
from chatserver.sweeper import Sweeper, SweepReport

DEPARTMENTS = ("", "sales", "billing", "support")
T0 = 1_800_000_000_000
NOW = T0 + 3_600_000  # the clock of the measurements: an hour after the first chat opened
FOREVER = NOW + 10 * 86_400_000


@dataclass(frozen=True, slots=True)
class Filled:
    """What :func:`fill` wrote: every conversation's fields, by id, and the agents."""

    convs: dict[str, dict[str, str]]
    agents: list[str]


def conversation(i: int, agents: list[str], held_each: int) -> dict[str, str]:
    """The i-th conversation as the scripts leave it: the first ``len(agents) * held_each``
    are held (``held_each`` per agent), the rest queued; some wait on a reply."""
    cid = f"c_{i:06d}"
    created = T0 + i // 3 * 100  # three chats per creation time: the walks meet ties
    dept = DEPARTMENTS[i % len(DEPARTMENTS)]
    conv = {
        "id": cid,
        "site": "big",
        "visitor": f"v_{i:06d}",
        "visitor_name": f"Visitor {i}",
        "department": dept,
        "status": "queued",
        "priority": "0",
        "created_at": str(created),
        "queued_at": str(created),
        "last_id": "0-0",
    }
    if i < len(agents) * held_each:
        agent = agents[i % len(agents)]
        conv |= {
            "status": ("assigned", "waiting_on_agent", "waiting_on_visitor")[i % 3],
            "agent": agent,
            "agent_name": f"Agent {agent}",
            "assigned_at": str(created + 5_000),
        }
        if i % 7 == 0:  # the visitor's first message still unanswered
            conv["first_visitor_msg_at"] = str(NOW - (i % 11) * 10_000)
        elif i % 5 == 0:  # answered once, waiting for the next reply
            conv["first_visitor_msg_at"] = str(created + 1_000)
            conv["first_agent_reply_at"] = str(created + 20_000)
            conv["unanswered_since"] = str(NOW - (i % 13) * 15_000)
    elif i % 4 == 0:
        conv["first_visitor_msg_at"] = str(NOW - (i % 9) * 20_000)
    return conv


def fill(url: str, open_chats: int, n_agents: int, site: str = "big") -> Filled:
    """Write a site of ``open_chats`` open conversations, ``n_agents`` agents (present,
    online) holding 60 % of them, the rest queued, every visitor present; pipelined."""
    k = Keys()
    r = redis.Redis.from_url(url, decode_responses=True)
    agents = [f"a_{j:04d}" for j in range(n_agents)]
    held_each = int(open_chats * 0.6) // max(1, n_agents)
    convs: dict[str, dict[str, str]] = {}
    try:
        r.hset(k.site(site), mapping={"name": site, "allowed_origins": "*"})
        r.sadd(k.sites(), site)
        r.incr(k.sites_version())
        pipe = r.pipeline(transaction=False)
        for dept in DEPARTMENTS:
            pipe.sadd(k.departments(site), dept)
        for j, agent in enumerate(agents):
            pipe.sadd(k.agents(site), agent)
            pipe.hset(
                k.agent_state(site, agent),
                mapping={
                    "name": f"Agent {agent}",
                    "status": "online",
                    "capacity": held_each + 10,
                    "departments": "" if j % 2 else "sales billing",
                    "status_since": T0,
                },
            )
            pipe.set(k.presence(site, agent), "1", pxat=FOREVER)
        pipe.execute()
        for start in range(0, open_chats, 5000):
            pipe = r.pipeline(transaction=False)
            for i in range(start, min(open_chats, start + 5000)):
                conv = conversation(i, agents, held_each)
                cid, created = conv["id"], int(conv["created_at"])
                convs[cid] = conv
                pipe.hset(k.conversation(site, cid), mapping=conv)
                pipe.zadd(k.open_conversations(site), {cid: created})
                if conv["status"] == "queued":
                    pipe.zadd(k.queue(site, conv["department"]), {cid: queue_score(0, created)})
                else:
                    pipe.sadd(k.agent_conversations(site, conv["agent"]), cid)
                pipe.hset(k.visitor_presence(site, conv["visitor"]), "n_bench", FOREVER)
            pipe.execute()
    finally:
        r.close()
    return Filled(convs, agents)


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def _policy(site: str) -> SitePolicy:
    return SitePolicy()


async def measure(url: str, open_chats: int, ticks_only: bool) -> dict[str, float]:
    store = Store.from_url(url)
    out: dict[str, float] = {}
    try:
        sweeper = Sweeper(store, _policy, lambda: NOW)
        times: list[float] = []
        reads: list[int] = []
        while True:
            began = time.perf_counter()
            report = SweepReport()
            await sweeper.sweep_site("big", report)
            times.append(time.perf_counter() - began)
            reads.append(report.read)
            if report.passes:
                break
        out |= {
            "tick_median_s": statistics.median(times),
            "tick_max_s": max(times),
            "pass_ticks": len(times),
            "pass_work_s": sum(times),
            "entries_per_tick_max": max(reads),
            "entries_per_pass": sum(reads),
        }
        if ticks_only:
            return out
        dash = Dashboards(store, Settings(), lambda: NOW)
        began = time.perf_counter()
        live = await dash.live("big")
        out["live_read_s"] = time.perf_counter() - began
        out["live_open"] = live.now.open_count
        began = time.perf_counter()
        figures = await dash.figures("big")
        out["figures_s"] = time.perf_counter() - began
        out["figures_queue"] = figures["now"]["queue"]["count"]
        began = time.perf_counter()
        await dash.sample("big", NOW)
        out["sample_s"] = time.perf_counter() - began
        began = time.perf_counter()
        for _ in range(1000):
            await store.list_sites()
        out["list_sites_cached_us"] = (time.perf_counter() - began) * 1000
        began = time.perf_counter()
        for _ in range(1000):
            await store.r.smembers(store.k.sites())
        out["smembers_us"] = (time.perf_counter() - began) * 1000
    finally:
        await store.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.open_chats")
    parser.add_argument("--open", type=int, default=100_000, help="open conversations")
    parser.add_argument("--agents", type=int, default=400)
    parser.add_argument("--ticks-only", action="store_true", help="only the sweeper")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedRedis(Path(tmp) / "redis", appendonly=False)
        server.start()
        try:
            began = time.perf_counter()
            fill(server.url, args.open, args.agents)
            filled = time.perf_counter() - began
            say(f"filled {args.open} open conversations, {args.agents} agents: {filled:.1f} s")
            r = redis.Redis.from_url(server.url)
            used = r.info("memory")["used_memory"]
            r.close()
            say(f"redis used_memory: {used / 1e6:.0f} MB")
            for name, value in asyncio.run(measure(server.url, args.open, args.ticks_only)).items():
                shown = f"{value:.3f}" if isinstance(value, float) else str(value)
                say(f"{name:>24}: {shown}")
        finally:
            server.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
