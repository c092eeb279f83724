"""A scripted day on the real store and the real server, with an injected clock: every figure
of the dashboard's JSON API is checked against values worked out by hand (below, beside each
step), percentiles included; then /metrics, parsed with prometheus-client's parser, and the
conversation search.

The day is Tuesday 2024-03-05 in Tehran (UTC+03:30, the site's office-hours time zone), so
"today" starts at 2024-03-04 20:30 UTC. The clock stops at 10:45:00 local. Site targets:
first response 60 s, next response 120 s; the timers that would act on their own (reassign,
nudge, queue timeout) are off, and every due SLA/visitor timer is fired by the script at its
deadline, as a node would.
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from prometheus_client.parser import text_string_to_metric_families

from chatserver.app import create_app
from chatserver.config import Settings
from chatserver.core.policy import SitePolicy
from chatserver.dashboards import Dashboards
from chatserver.embedded_redis import EmbeddedRedis
from chatserver.messages import Outgoing
from chatserver.store import Store
from tests.servers import SECRET, in_process_server, password_hash

TEHRAN = ZoneInfo("Asia/Tehran")
SITE = "shop"
ALL_DAY = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
SITE_SETTINGS = {
    "name": "Shop",
    "allowed_origins": "*",
    "office_hours": json.dumps({"tz": "Asia/Tehran", "days": ALL_DAY}),
    "sla_first_response_s": "60",
    "sla_next_response_s": "120",
    "assign_timeout_s": "0",
    "nudge_after_s": "0",
    "park_after_s": "0",
    "queue_timeout_s": "0",
    "keep_place_s": "0",  # c4 is missed as soon as its visitor is gone
}
MIN = 60_000


def at(hhmmss: str, day: int = 5) -> int:
    """Milliseconds of a Tehran wall-clock time on March ``day`` 2024."""
    h, mi, s = (int(x) for x in hhmmss.split(":"))
    return int(datetime(2024, 3, day, h, mi, s, tzinfo=TEHRAN).timestamp() * 1000)


NOW = at("10:45:00")


class Clock:
    def __init__(self, t: int) -> None:
        self.t = t

    def __call__(self) -> int:
        return self.t


@pytest.fixture
def day_server(redis_server: EmbeddedRedis) -> Iterator[tuple[str, Clock]]:
    """The real app in this process (uvicorn on a thread) whose clock the test sets."""
    clock = Clock(at("08:00:00", 4))
    settings = Settings(
        secret_key=SECRET, timer_interval=60, sweep_interval=3600, metrics_interval=3600
    )
    with in_process_server(create_app(settings, redis_server.url, clock)) as base:
        yield base, clock


def http(method: str, url: str, token: str | None = None, body: Any = None) -> Any:
    req = urllib.request.Request(
        url,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json", "Origin": url.split("/api")[0]}
        | ({"Authorization": f"Bearer {token}"} if token else {}),
    )
    with urllib.request.urlopen(req, timeout=20) as resp:
        raw = resp.read()
        return json.loads(raw) if resp.headers.get_content_type() == "application/json" else raw


class Day:
    """Drives the scripted day through the store, each step at its own time."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.s = store
        self.clock = clock
        self.policy = SitePolicy.from_settings(SITE_SETTINGS)
        self.agents: dict[str, str] = {}
        self.convs: dict[str, tuple[str, str]] = {}  # name -> (conv id, visitor id)
        self.n = 0

    def t(self, when: int) -> int:
        self.clock.t = when
        return when

    async def status(self, agent: str, status: str, when: int) -> None:
        await self.s.set_agent_status(
            SITE, self.agents[agent], agent, 2, status, 3600, self.depts(agent), now=self.t(when)
        )

    def depts(self, agent: str) -> list[str]:
        return ["sales"] if agent == "Omid" else []

    async def opens(self, name: str, when: int, dept: str = "", text: str = "hello") -> None:
        self.n += 1
        visitor = f"v_visitor{self.n}"
        _, conv = await self.s.open_conversation(
            SITE, visitor, self.t(when), dept, visitor_name=f"Visitor {self.n}", policy=self.policy
        )
        self.convs[name] = (conv, visitor)
        await self.says(name, text, when)

    async def says(self, name: str, text: str, when: int) -> None:
        conv, visitor = self.convs[name]
        await self.s.send_message(
            Outgoing(SITE, conv, "visitor", visitor, "", f"{name}-{when}", text, self.t(when)),
            self.policy,
        )

    async def claims(self, agent: str, name: str, when: int) -> None:
        got = await self.s.claim(
            SITE, self.convs[name][0], [self.agents[agent]], self.t(when), policy=self.policy
        )
        assert got == self.agents[agent]

    async def replies(self, agent: str, name: str, when: int, text: str = "hi") -> None:
        await self.s.send_message(
            Outgoing(
                SITE,
                self.convs[name][0],
                "agent",
                self.agents[agent],
                agent,
                f"{name}-a-{when}",
                text,
                self.t(when),
            ),
            self.policy,
        )

    async def resolves(self, agent: str, name: str, when: int) -> None:
        await self.s.resolve(
            SITE, self.convs[name][0], "agent", self.agents[agent], agent, self.t(when)
        )

    async def rates(self, name: str, score: int, when: int) -> None:
        conv, visitor = self.convs[name]
        await self.s.rate(SITE, conv, visitor, "", score, "", self.t(when))

    async def timer(self, kind: str, name: str, when: int, schedule: bool = False) -> None:
        member = f"{kind}|{self.convs[name][0]}"
        if schedule:  # what a node does when the visitor's last socket closes
            await self.s.schedule_timer(SITE, member, when)
        assert await self.s.fire_timer(SITE, member, self.t(when), self.policy) == "fired"


async def play_the_day(store: Store, clock: Clock) -> Day:
    d = Day(store, clock)
    await store.update_site(SITE, SITE_SETTINGS)
    for name, role in (("Sara", "agent"), ("Omid", "agent"), ("Mina", "supervisor")):
        d.agents[name] = await store.create_agent(
            f"{name.lower()}@example.com",
            name,
            password_hash("password123"),
            site=SITE,
            role=role,
            capacity=2,
            departments=d.depts(name),
        )
    dash = Dashboards(store, Settings(), clock)
    # --- yesterday: in the 24-hour chart, in nobody's "today" ---------------------------
    await d.status("Sara", "online", at("22:50:00", 4))
    await d.opens("c0", at("23:00:00", 4))
    await d.claims("Sara", "c0", at("23:00:15", 4))
    await d.replies("Sara", "c0", at("23:01:00", 4))
    await d.resolves("Sara", "c0", at("23:10:00", 4))
    await d.status("Sara", "offline", at("23:30:00", 4))  # 40 min online, all yesterday
    # --- today ------------------------------------------------------------------------
    await d.status("Sara", "online", at("08:50:00"))  # online until the end: 115 min
    await d.status("Omid", "online", at("09:00:00"))
    await d.opens("c1", at("09:00:00"))
    await dash.sample(SITE, d.t(at("09:00:05")))  # queue 1, longest wait 5 s
    await d.claims("Sara", "c1", at("09:00:10"))  # wait 10 s
    await d.replies("Sara", "c1", at("09:00:40"))  # first response 40 s, response 40 s
    await d.says("c1", "one more thing", at("09:01:00"))
    await d.replies("Sara", "c1", at("09:01:20"))  # response 20 s
    await d.resolves("Sara", "c1", at("09:05:00"))  # resolution 300 s
    await d.rates("c1", 5, at("09:06:00"))
    await d.opens("c2", at("09:10:00"), "sales", "I want a refund for order 77")
    await d.claims("Omid", "c2", at("09:10:30"))  # wait 30 s
    await d.timer("frt", "c2", at("09:11:00"))  # first response target missed
    await d.replies("Omid", "c2", at("09:11:30"))  # first response 90 s, response 90 s
    await d.resolves("Omid", "c2", at("09:20:00"))  # resolution 600 s
    await d.rates("c2", 3, at("09:21:00"))
    await d.opens("c3", at("09:30:00"))
    await d.claims("Sara", "c3", at("09:30:20"))  # wait 20 s
    await d.replies("Sara", "c3", at("09:30:30"))  # first response 30 s, response 30 s
    await d.says("c3", "still there?", at("09:31:00"))
    await d.timer("nrt", "c3", at("09:33:00"))  # next response target missed
    await d.replies("Sara", "c3", at("09:33:30"))  # response 150 s
    await d.resolves("Sara", "c3", at("09:40:00"))  # resolution 600 s
    await d.opens("c4", at("09:50:00"))
    await d.timer("frt", "c4", at("09:51:00"))  # first response target missed
    await d.timer("vgone", "c4", at("09:52:00"), schedule=True)  # missed
    await d.opens("c5", at("10:00:00"), "sales")
    await d.claims("Omid", "c5", at("10:00:05"))  # wait 5 s
    await d.replies("Omid", "c5", at("10:00:20"))  # first response 20 s, response 20 s
    await d.status("Omid", "away", at("10:10:00"))  # 70 min online
    await d.timer("abandon", "c5", at("10:30:25"), schedule=True)  # abandoned
    await d.status("Omid", "online", at("10:40:00"))  # online until the end: 5 min
    await d.opens("c6", at("10:40:00"))  # still queued at the end
    await d.timer("frt", "c6", at("10:41:00"))  # first response target missed
    await d.opens("c7", at("10:44:00"), "sales")
    await d.opens("c8", at("10:44:10"))
    await d.claims("Sara", "c8", at("10:44:12"))  # wait 2 s; no reply yet: at risk at 10:45
    await d.claims("Omid", "c7", at("10:44:30"))  # wait 30 s; no reply yet
    await d.opens("c9", at("10:44:40"))  # still queued at the end
    await dash.sample(SITE, d.t(at("10:44:50")))  # queue 2, longest wait 290 s
    await d.timer("frt", "c7", at("10:45:00"))  # first response target missed
    await dash.sample(SITE, d.t(NOW))  # queue 2, longest wait 300 s
    return d


def summary(count: int, median: float | None, p90: int | None) -> dict[str, Any]:
    return {"count": count, "median": median, "p90": p90}


NONE = summary(0, None, None)


async def test_a_scripted_day_gives_every_figure(
    day_server: tuple[str, Clock], redis_server: EmbeddedRedis
) -> None:
    base, clock = day_server
    store = Store.from_url(redis_server.url)
    try:
        d = await play_the_day(store, clock)
    finally:
        await store.close()
    token = (
        await asyncio.to_thread(
            http,
            "POST",
            f"{base}/api/login",
            None,
            {"email": "mina@example.com", "password": "password123"},
        )
    )["token"]
    got = await asyncio.to_thread(http, "GET", f"{base}/api/metrics/dashboard", token)
    conv = {name: cid for name, (cid, _) in d.convs.items()}

    assert got["generated_at"] == NOW and got["timezone"] == "Asia/Tehran"
    assert got["departments"] == ["sales"]
    # --- now, at 10:45:00 -------------------------------------------------------------
    now = got["now"]
    assert now["queue"] == {
        "count": 2,  # c6 and c9
        "longest_wait_ms": 5 * MIN,  # c6 queued at 10:40:00
        "median_wait_ms": (300_000 + 20_000) // 2,  # c6 300 s, c9 20 s
        "by_department": {"": 2},
        # 3rd in line, 2 free slots of 4 online, handle time = the mean of today's chats from
        # assignment to end (c1 290 s, c2 570 s, c3 580 s: 480 s): ceil(1 * 480 / 4)
        "next_estimated_wait_s": 120,
        "next_opens_at": None,  # within the office hours: no wait runs past closing
    }
    agents = now["agents"]
    assert (agents["online"], agents["away"], agents["offline"]) == (2, 0, 0)
    assert (agents["load"], agents["capacity"]) == (2, 4)
    assert {(a["name"], a["load"], a["capacity"]) for a in agents["list"]} == {
        ("Sara", 1, 2),
        ("Omid", 1, 2),
    }
    assert now["in_progress"] == 2  # c7 (Omid), c8 (Sara)
    rows = now["unresolved"]["items"]
    assert now["unresolved"]["count"] == 4
    # longest without a reply first: c6 300 s, c7 60 s, c8 50 s, c9 20 s; none answered yet
    assert [(r["id"], r["waiting_ms"]) for r in rows] == [
        (conv["c6"], 300_000),
        (conv["c7"], 60_000),
        (conv["c8"], 50_000),
        (conv["c9"], 20_000),
    ]
    assert all(r["since_last_reply_ms"] is None for r in rows)
    sla = now["sla"]
    assert (sla["breached"], sla["at_risk"]) == (2, 1)  # c6 and c7 past 60 s; c8 at 50 s
    assert [r["id"] for r in sla["breached_items"]] == [conv["c6"], conv["c7"]]
    assert [r["id"] for r in sla["at_risk_items"]] == [conv["c8"]]
    assert sla["at_risk_items"][0]["sla"] == {
        "target": "first",
        "elapsed_ms": 50_000,
        "target_ms": 60_000,
        "state": "at_risk",
    }
    # --- today (from 00:00 Tehran) ----------------------------------------------------
    today = got["today"]
    assert today["start"] == at("00:00:00")
    assert {k: today[k] for k in ("started", "missed", "abandoned", "resolved")} == {
        "started": 9,  # c1-c9 (c0 was yesterday)
        "missed": 1,  # c4
        "abandoned": 1,  # c5
        "resolved": 3,  # c1, c2, c3
    }
    assert (today["sla_first_breaches"], today["sla_next_breaches"]) == (4, 1)  # c2 c4 c6 c7; c3
    # waits 10 20 30 5 30 2 s -> sorted 2 5 10 20 30 30: median (10+20)/2, p90 6th
    assert today["wait"] == summary(6, 15_000, 30_000)
    # first responses 40 90 30 20 s -> 20 30 40 90: median 35, p90 4th
    assert today["first_response"] == summary(4, 35_000, 90_000)
    # responses 40 20 90 30 150 20 s -> 20 20 30 40 90 150: median 35, p90 6th
    assert today["response"] == summary(6, 35_000, 150_000)
    # resolutions 300 600 600 s
    assert today["resolution"] == summary(3, 600_000, 600_000)
    assert today["satisfaction"] == {"count": 2, "average": 4.0, "csat": 50.0}  # 5 and 3
    # --- last hour (09:45:00 - 10:45:00) ----------------------------------------------
    hour = got["last_hour"]
    assert hour["start"] == at("09:45:00")
    assert {k: hour[k] for k in ("started", "missed", "abandoned", "resolved")} == {
        "started": 6,  # c4-c9
        "missed": 1,
        "abandoned": 1,
        "resolved": 0,
    }
    assert (hour["sla_first_breaches"], hour["sla_next_breaches"]) == (3, 0)  # c4 c6 c7
    assert hour["wait"] == summary(3, 5_000, 30_000)  # 5 30 2 s
    assert hour["first_response"] == summary(1, 20_000, 20_000)  # c5
    assert hour["response"] == summary(1, 20_000, 20_000)
    assert hour["resolution"] == NONE
    assert hour["satisfaction"] == {"count": 0, "average": None, "csat": None}
    # --- each agent, today ------------------------------------------------------------
    by_name = {a["name"]: a for a in got["agents"]}
    assert set(by_name) == {"Sara", "Omid"}
    assert by_name["Sara"] == {
        "id": d.agents["Sara"],
        "name": "Sara",
        "chats_handled": 3,  # c1 c3 c8
        "first_response": summary(2, 35_000, 40_000),  # 40 30 s
        "response": summary(4, 35_000, 150_000),  # 40 20 30 150 s
        "resolution": summary(2, 450_000, 600_000),  # 300 600 s
        "satisfaction": {"count": 1, "average": 5.0, "csat": 100.0},
        "online_ms": 115 * MIN,  # 08:50 - 10:45 (yesterday's 40 min not counted)
    }
    assert by_name["Omid"] == {
        "id": d.agents["Omid"],
        "name": "Omid",
        "chats_handled": 3,  # c2 c5 c7
        "first_response": summary(2, 55_000, 90_000),  # 90 20 s
        "response": summary(2, 55_000, 90_000),
        "resolution": summary(1, 600_000, 600_000),
        "satisfaction": {"count": 1, "average": 3.0, "csat": 0.0},
        "online_ms": 75 * MIN,  # 09:00 - 10:10 and 10:40 - 10:45
    }
    # --- charts -----------------------------------------------------------------------
    charts = got["charts"]
    per_hour = {p["t"]: p["count"] for p in charts["chats_per_hour"]}
    assert len(per_hour) == 24 and sum(per_hour.values()) == 10  # c0 + c1-c9
    # clock hours (UTC): Tehran 09:00 = 05:30 UTC
    assert per_hour[at("08:30:00")] == 2  # c1 c2
    assert per_hour[at("09:30:00")] == 3  # c3 c4 c5
    assert per_hour[at("10:30:00")] == 4  # c6-c9
    assert per_hour[at("22:30:00", 4)] == 1  # c0
    assert charts["first_response_today"] == [
        {"le": 15, "count": 0},
        {"le": 30, "count": 2},  # 20 30 s
        {"le": 60, "count": 1},  # 40 s
        {"le": 120, "count": 1},  # 90 s
        {"le": 300, "count": 0},
        {"le": 600, "count": 0},
        {"le": None, "count": 0},
    ]
    queue = {p["t"]: p["value"] for p in charts["queue_length"] if p["value"] is not None}
    waits = {p["t"]: p["value"] for p in charts["longest_wait_ms"] if p["value"] is not None}
    assert len(charts["queue_length"]) == 73  # 6 hours of 5-minute slots, both ends
    # samples: 09:00:05 (slot 09:00), 10:44:50 (slot 10:40), 10:45:00 (slot 10:45)
    assert queue == {at("09:00:00"): 1, at("10:40:00"): 2, at("10:45:00"): 2}
    assert waits == {at("09:00:00"): 5_000, at("10:40:00"): 290_000, at("10:45:00"): 300_000}

    # --- one department ---------------------------------------------------------------
    sales = await asyncio.to_thread(
        http, "GET", f"{base}/api/metrics/dashboard?department=sales", token
    )
    assert sales["department"] == "sales"
    assert sales["now"]["queue"]["count"] == 0 and sales["now"]["queue"]["longest_wait_ms"] is None
    assert sales["now"]["queue"]["next_estimated_wait_s"] is None  # nobody is waiting
    assert sales["now"]["agents"]["online"] == 2  # Omid (sales) and Sara (every department)
    assert sales["now"]["in_progress"] == 1 and sales["now"]["unresolved"]["count"] == 1  # c7
    assert (sales["now"]["sla"]["breached"], sales["now"]["sla"]["at_risk"]) == (1, 0)
    st = sales["today"]
    assert (st["started"], st["missed"], st["abandoned"], st["resolved"]) == (3, 0, 1, 1)
    assert st["wait"] == summary(3, 30_000, 30_000)  # 30 5 30 s
    assert st["first_response"] == summary(2, 55_000, 90_000)
    assert st["resolution"] == summary(1, 600_000, 600_000)
    assert st["satisfaction"] == {"count": 1, "average": 3.0, "csat": 0.0}
    assert (st["sla_first_breaches"], st["sla_next_breaches"]) == (2, 0)  # c2 c7
    sales_agents = {a["name"]: a for a in sales["agents"]}
    assert sales_agents["Sara"]["chats_handled"] == 0
    assert sales_agents["Sara"]["online_ms"] == 115 * MIN
    assert sales_agents["Omid"]["chats_handled"] == 3
    sales_queue = [p["value"] for p in sales["charts"]["queue_length"] if p["value"] is not None]
    assert sales_queue == [0, 0]  # at 09:00:05 nobody had asked for sales yet

    # --- /metrics ---------------------------------------------------------------------
    text = (await asyncio.to_thread(http, "GET", f"{base}/metrics")).decode()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    shop = (("site", SITE),)
    assert samples[("chatserver_queue_length", (("department", ""), ("site", SITE)))] == 2
    assert samples[("chatserver_queue_longest_wait_seconds", shop)] == 300
    assert samples[("chatserver_agents", (("site", SITE), ("status", "online")))] == 2
    assert samples[("chatserver_conversations_open", shop)] == 4
    # visitor messages: c0 1, c1 2, c2 1, c3 2, c4-c9 1 each; agent: c0 1, c1 2, c2 1, c3 2, c5 1
    assert samples[("chatserver_messages_total", (("kind", "visitor"), ("site", SITE)))] == 12
    assert samples[("chatserver_messages_total", (("kind", "agent"), ("site", SITE)))] == 7
    # every wait ever: c0 15 s and today's six
    assert samples[("chatserver_wait_seconds_count", shop)] == 7
    assert samples[("chatserver_wait_seconds_sum", shop)] == 112.0
    assert samples[("chatserver_wait_seconds_bucket", (("le", "5.0"), ("site", SITE)))] == 2
    assert samples[("chatserver_wait_seconds_bucket", (("le", "15.0"), ("site", SITE)))] == 4
    assert samples[("chatserver_first_response_seconds_count", shop)] == 5  # c0 45 s too
    started = (("event", "started"), ("site", SITE))
    assert samples[("chatserver_conversation_events_total", started)] == 10

    # --- search -----------------------------------------------------------------------
    async def search(query: str) -> list[str]:
        found = await asyncio.to_thread(
            http, "GET", f"{base}/api/metrics/conversations?{query}", token
        )
        return [item["id"] for item in found["items"]]

    assert await search("text=REFUND") == [conv["c2"]]
    assert await search("date=2024-03-05&status=resolved") == [conv["c3"], conv["c2"], conv["c1"]]
    assert await search("date=2024-03-04") == [conv["c0"]]
    assert await search("agent=omid&date=2024-03-05") == [conv["c7"], conv["c5"], conv["c2"]]
    assert await search("visitor=Visitor%204") == [conv["c3"]]  # c0 is Visitor 1
