"""A scripted week on the real store, with an injected clock: the SLA clocks pause outside
the site's office hours, figure by figure.

The site works Monday to Friday, 09:00-17:00 in Berlin; first-response target 120 s,
next-response target 300 s; every other timer is off. The week is Monday 2024-10-21 to
Monday 2024-10-28, and the clocks in Berlin go back an hour (03:00 CEST -> 02:00 CET) on the
Sunday between: so Friday 16:59 CEST to Monday 09:01 CET is 65 h 02 min of real time. Every
deadline is fired as a node fires it, by the timer runner's tick at a chosen instant; the
dashboard's "now" panel is read at a few of them.

Hand-worked figures (wall = real time, business = real time while the site is open):

| chat | clock starts | deadline | outcome | wall waited | business waited |
|---|---|---|---|---|---|
| open | Tue 10:00:00 | Tue 10:02:00 | breach | 120 s | 120 s |
| answered | Tue 10:05:00 | Tue 10:07:00 | reply 10:06:30 | 90 s | 90 s |
| stale | Wed 16:59:30 | Thu 09:01:30 | reply Thu 09:01:00 | 16 h 01 min 30 s | 60 s |
| next | Thu 16:58:00 (2nd turn) | Fri 09:03:00 | breach, reply 09:04 | 16 h 05 min | 300 s |
| monday | Fri 16:58:30 | Mon 09:00:30 | reply Mon 09:00:20 | 65 h 01 min 50 s | 110 s |
| friday | Fri 16:59:00 | Mon 09:01:00 | breach | 65 h 02 min | 120 s |
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from chatserver.config import Settings
from chatserver.core.policy import SitePolicy
from chatserver.core.sla import SlaPolicy
from chatserver.dashboards import Dashboards
from chatserver.embedded_redis import EmbeddedRedis
from chatserver.feed import payload
from chatserver.lifecycle import Lifecycle
from chatserver.messages import Outgoing
from chatserver.store import Store

BERLIN = ZoneInfo("Europe/Berlin")
SITE = "shop"
S, MIN, H = 1000, 60_000, 3_600_000
OFF = {
    "assign_timeout_s": "0",
    "nudge_after_s": "0",
    "park_after_s": "0",
    "queue_timeout_s": "0",
    "feed": "1",  # as when the site has a webhook: the breaches are events too
}
WEEKDAYS = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
SETTINGS = {
    "name": "Shop",
    "allowed_origins": "*",
    "office_hours": json.dumps({"tz": "Europe/Berlin", "days": WEEKDAYS}),
    "sla_first_response_s": "120",
    "sla_next_response_s": "300",
    **OFF,
}
DAYS = {"mon": 21, "tue": 22, "wed": 23, "thu": 24, "fri": 25, "sat": 26, "sun": 27, "mon2": 28}


def at(day: str, hhmmss: str) -> int:
    """Unix ms of a Berlin wall-clock time in the week of 2024-10-21."""
    h, mi, s = (int(x) for x in hhmmss.split(":"))
    return int(datetime(2024, 10, DAYS[day], h, mi, s, tzinfo=BERLIN).timestamp() * 1000)


class Clock:
    def __init__(self, t: int) -> None:
        self.t = t

    def __call__(self) -> int:
        return self.t


class Week:
    """Drives the week through the store, and fires timers as a node does, each at its time."""

    def __init__(self, store: Store, site: str) -> None:
        self.s, self.site = store, site
        self.clock = Clock(at("mon", "08:00:00"))
        self.lifecycle = Lifecycle(store, Settings(), store.get_site, self.clock)
        self.dashboards = Dashboards(store, Settings(), self.clock)
        self.convs: dict[str, tuple[str, str]] = {}  # name -> (conversation id, visitor id)
        self.agent = ""
        self.n = 0

    def t(self, when: int) -> int:
        self.clock.t = when
        return when

    async def policy(self) -> SitePolicy:
        return await self.lifecycle.policy(self.site)

    async def start(self, settings: dict[str, str]) -> None:
        await self.s.update_site(self.site, settings)
        self.agent = await self.s.create_agent(
            f"sara@{self.site}.example", "Sara", "unused-hash", site=self.site, capacity=4
        )
        await self.s.set_agent_status(
            self.site, self.agent, "Sara", 4, "online", 3600, now=self.t(at("mon", "08:55:00"))
        )

    async def opens(self, name: str, when: int) -> None:
        self.n += 1
        visitor = f"v_week{self.n}"
        _, conv = await self.s.open_conversation(
            self.site, visitor, self.t(when), policy=await self.policy()
        )
        self.convs[name] = (conv, visitor)
        await self.says(name, when)

    async def says(self, name: str, when: int) -> None:
        conv, visitor = self.convs[name]
        msg = Outgoing(self.site, conv, "visitor", visitor, "", f"{name}-{when}", "hi", when)
        await self.s.send_message(msg, await self.policy())
        self.t(when)

    async def claims(self, name: str, when: int) -> None:
        conv = self.convs[name][0]
        got = await self.s.claim(self.site, conv, [self.agent], self.t(when))
        assert got == self.agent

    async def replies(self, name: str, when: int) -> None:
        conv = self.convs[name][0]
        msg = Outgoing(self.site, conv, "agent", self.agent, "Sara", f"a-{when}", "hello", when)
        await self.s.send_message(msg, await self.policy())
        self.t(when)

    async def tick(self, when: int) -> int:
        """What a node's timer loop does at ``when``: fire every due deadline; how many acted."""
        self.t(when)
        return await self.lifecycle.timers.tick()

    async def due(self, kind: str, name: str) -> int | None:
        return await self.s.timer_due(self.site, f"{kind}|{self.convs[name][0]}")

    async def conv(self, name: str) -> dict[str, str]:
        got = await self.s.get_conversation(self.site, self.convs[name][0])
        assert got is not None
        return got

    async def sla(self, when: int) -> dict[str, dict[str, Any]]:
        """The dashboard's SLA figure of each unresolved chat (by name) at ``when``."""
        self.t(when)
        rows = (await self.dashboards.figures(self.site))["now"]["unresolved"]["items"]
        names = {cid: name for name, (cid, _) in self.convs.items()}
        return {names[r["id"]]: {**r["sla"], "waiting_ms": r["waiting_ms"]} for r in rows}

    async def breaches(self) -> list[dict[str, Any]]:
        """The sla.breached events of the site's feed, as a webhook receives them."""
        entries = await self.s.feed_after(self.site, "0-0", 1000)
        names = {cid: name for name, (cid, _) in self.convs.items()}
        return [
            {"chat": names[p["conversation_id"]], "at": p["created_at"], **p["data"]}
            for p in (payload(self.site, eid, fields) for eid, fields in entries)
            if p["type"] == "sla.breached"
        ]

    async def system_events(self, name: str) -> list[tuple[str, int]]:
        stored = await self.s.read_messages(self.site, self.convs[name][0], None)
        return [(m.event, m.ts) for m in stored if m.kind == "system" and m.event == "sla_breach"]


@pytest.fixture
async def store(redis_server: EmbeddedRedis) -> AsyncIterator[Store]:
    s = Store.from_url(redis_server.url)
    yield s
    await s.close()


async def test_a_week_with_a_weekend_pauses_the_sla_clocks(store: Store) -> None:
    w = Week(store, SITE)
    await w.start(SETTINGS)
    assert isinstance(await w.policy(), SlaPolicy)

    # --- Tuesday, open hours: a clock runs on the wall ----------------------------------
    await w.opens("open", at("tue", "10:00:00"))
    # A timer fires first at the risk point (80 % of the target: an escalation), then at the
    # deadline; both in business time.
    assert await w.due("frt", "open") == at("tue", "10:01:36")
    assert await w.tick(at("tue", "10:02:00") - 1) == 0
    assert await w.tick(at("tue", "10:02:00")) == 1  # breached exactly at its target

    await w.opens("answered", at("tue", "10:05:00"))
    assert await w.due("frt", "answered") == at("tue", "10:06:36")
    await w.claims("answered", at("tue", "10:05:30"))
    await w.replies("answered", at("tue", "10:06:30"))
    assert await w.due("frt", "answered") is None
    assert await w.tick(at("tue", "10:07:00")) == 0
    assert (await w.conv("answered"))["first_response_ms"] == str(90 * S)

    # --- Wednesday: a deadline set on wall time is judged on business time ---------------
    await w.opens("stale", at("wed", "16:59:30"))
    # At risk after 96 s: 30 s today, 66 s tomorrow (the deadline: 90 s tomorrow).
    assert await w.due("frt", "stale") == at("thu", "09:01:06")
    # As a node of an earlier version set it (or one under other office hours): the wall
    # deadline comes, the clock is 30 s in, and the timer moves to its business risk point
    # (short of it, it escalates there first; then the deadline, Thursday 09:01:30).
    await store.schedule_timer(SITE, f"frt|{w.convs['stale'][0]}", at("wed", "17:01:30"))
    assert await w.tick(at("wed", "17:01:30")) == 0
    assert await w.due("frt", "stale") == at("thu", "09:01:06")

    # --- Thursday -----------------------------------------------------------------------
    await w.claims("stale", at("thu", "09:00:30"))
    await w.replies("stale", at("thu", "09:01:00"))  # 60 s of business time: in time
    assert await w.tick(at("thu", "09:01:30")) == 0
    # The recorded response times stay wall time: what the visitor lived through.
    assert (await w.conv("stale"))["first_response_ms"] == str(16 * H + 90 * S)

    await w.opens("next", at("thu", "16:00:00"))
    await w.claims("next", at("thu", "16:00:10"))
    await w.replies("next", at("thu", "16:01:00"))
    await w.says("next", at("thu", "16:58:00"))  # a next-response clock, 2 min before closing
    # At risk after 4 min: 2 min today, 2 tomorrow (the deadline: 3 min tomorrow).
    assert await w.due("nrt", "next") == at("fri", "09:02:00")
    assert await w.tick(at("thu", "17:03:00")) == 0  # past the target on the wall: no breach

    # --- Friday -------------------------------------------------------------------------
    assert await w.tick(at("fri", "09:03:00") - 1) == 0
    assert await w.tick(at("fri", "09:03:00")) == 1
    await w.replies("next", at("fri", "09:04:00"))
    # Two responses, in wall time: 60 s on Thursday, then 16 h 06 min overnight.
    assert (await w.conv("next"))["response_ms_total"] == str(60 * S + 16 * H + 6 * MIN)

    await w.opens("monday", at("fri", "16:58:30"))
    await w.opens("friday", at("fri", "16:59:00"))
    assert await w.due("frt", "monday") == at("mon2", "09:00:06")  # at risk after 96 s
    assert await w.due("frt", "friday") == at("mon2", "09:00:36")
    assert at("mon2", "09:01:00") - at("fri", "16:59:00") == 65 * H + 2 * MIN  # DST: +1 h
    assert await w.tick(at("fri", "17:01:00")) == 0  # both past their target on the wall

    # --- the weekend: nothing breaches, the dashboard agrees -----------------------------
    assert await w.tick(at("sat", "12:00:00")) == 0
    sla = await w.sla(at("sat", "12:00:00"))
    assert sla["friday"] == {
        "target": "first",
        "elapsed_ms": 60 * S,  # business time: Friday 16:59 to 17:00
        "target_ms": 120 * S,
        "state": "ok",
        "waiting_ms": 19 * H + MIN,  # wall time: Friday 16:59 to Saturday 12:00
    }
    assert sla["monday"]["elapsed_ms"] == 90 * S and sla["monday"]["state"] == "ok"
    assert await w.tick(at("sun", "12:00:00")) == 0  # after the clocks went back

    # --- Monday -------------------------------------------------------------------------
    await w.claims("monday", at("mon2", "09:00:05"))
    await w.replies("monday", at("mon2", "09:00:20"))  # 110 s of business time: in time
    assert await w.due("frt", "monday") is None
    assert (await w.conv("monday"))["first_response_ms"] == str(65 * H + MIN + 50 * S)
    sla = await w.sla(at("mon2", "09:00:40"))
    assert (sla["friday"]["elapsed_ms"], sla["friday"]["state"]) == (100 * S, "at_risk")
    assert await w.tick(at("mon2", "09:01:00") - 1) == 0
    assert await w.tick(at("mon2", "09:01:00")) == 1
    sla = await w.sla(at("mon2", "09:01:00"))
    assert (sla["friday"]["elapsed_ms"], sla["friday"]["state"]) == (120 * S, "breached")
    assert await w.tick(at("mon2", "12:00:00")) == 0

    # --- what was recorded, figure by figure ---------------------------------------------
    assert await w.breaches() == [
        {
            "chat": "open",
            "at": at("tue", "10:02:00"),
            "clock": "first_response",
            "agent_id": "",
            "target_ms": 120 * S,
            "waited_ms": 120 * S,
            "business_waited_ms": 120 * S,
        },
        {
            "chat": "next",
            "at": at("fri", "09:03:00"),
            "clock": "next_response",
            "agent_id": w.agent,
            "target_ms": 300 * S,
            "waited_ms": 16 * H + 5 * MIN,
            "business_waited_ms": 300 * S,
        },
        {
            "chat": "friday",
            "at": at("mon2", "09:01:00"),
            "clock": "first_response",
            "agent_id": "",
            "target_ms": 120 * S,
            "waited_ms": 65 * H + 2 * MIN,
            "business_waited_ms": 120 * S,
        },
    ]
    assert await w.system_events("open") == [("sla_breach", at("tue", "10:02:00"))]
    assert await w.system_events("next") == [("sla_breach", at("fri", "09:03:00"))]
    assert await w.system_events("friday") == [("sla_breach", at("mon2", "09:01:00"))]
    for name in ("answered", "stale", "monday"):
        assert await w.system_events(name) == []
    assert (await w.conv("friday"))["sla_first_breached_at"] == str(at("mon2", "09:01:00"))
    assert (await w.conv("next"))["sla_next_breaches"] == "1"
    assert "sla_first_breached_at" not in await w.conv("monday")

    # The latency records (the dashboard's windows and /metrics) carry the wall waits.
    await store.fold_metrics(SITE)
    records = await store.metric_records(SITE, at("mon", "00:00:00"), at("mon2", "23:00:00"))
    names = {cid: name for name, (cid, _) in w.convs.items()}
    got = sorted(
        (r.kind, names[r.conv], r.ms)
        for r in records
        if r.kind in ("sla_first_breach", "sla_next_breach", "first_response")
    )
    assert got == [
        ("first_response", "answered", 90 * S),
        ("first_response", "monday", 65 * H + MIN + 50 * S),
        ("first_response", "next", 60 * S),
        ("first_response", "stale", 16 * H + 90 * S),
        ("sla_first_breach", "friday", 65 * H + 2 * MIN),
        ("sla_first_breach", "open", 120 * S),
        ("sla_next_breach", "next", 16 * H + 5 * MIN),
    ]


async def test_without_office_hours_the_clocks_run_on_the_wall(store: Store) -> None:
    """No office hours: the deadlines are exactly today's wall-clock ones."""
    w = Week(store, "plain")
    await w.start({"name": "Plain", "sla_first_response_s": "120", **OFF})
    await w.opens("friday", at("fri", "16:59:00"))
    assert await w.due("frt", "friday") == at("fri", "16:59:00") + 96 * S  # at risk
    assert await w.tick(at("fri", "17:01:00") - 1) == 0
    assert await w.tick(at("fri", "17:01:00")) == 1
    types = [f["t"] for _, f in await store.feed_after("plain", "0-0", 100)]
    assert types.index("sla.at_risk") < types.index("sla.breached"), types
    assert await w.breaches() == [
        {
            "chat": "friday",
            "at": at("fri", "17:01:00"),
            "clock": "first_response",
            "agent_id": "",
            "target_ms": 120 * S,
            "waited_ms": 120 * S,
            "business_waited_ms": 120 * S,
        }
    ]
